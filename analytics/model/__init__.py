"""Pure model: arrays in, arrays out (numpy only; no I/O, SQL, Streamlit or chain client).

The Yuma epoch (`yuma`), consensus explanations (`consensus`), the emission split (`emission`), the
multi-epoch simulator (`simulate`) and subnets' incentive mechanisms (`mechanisms`).
"""
