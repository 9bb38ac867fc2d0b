"""Calibration to Xianghubao 2018-2020 and forecasts beyond the data."""
