"""huzhu in the browser: a Mesa SolaraViz app (`huzhu viz`) and the figures it shows."""
