"""Public data the model is built and calibrated on, each row with its source (README.md)."""
