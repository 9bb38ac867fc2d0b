from huzhu import MutualAidModel


def test_a_small_model_runs_to_closure():
    model = MutualAidModel(n_agents=2_000, rng=1)
    table = model.run()
    assert not model.running
    assert len(table) == model.n_periods
