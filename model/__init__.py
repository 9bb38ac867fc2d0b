"""The model: parameters, calendar, incidence, network and MutualAidModel itself."""
