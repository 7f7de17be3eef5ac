from tests.factory import registration


def test_register_and_pull(factory):
    device = factory.device()
    outbox = factory.register(device, count=3)
    assert [r["serial_no"] for r in outbox.acknowledged.values()] == [1, 2, 3]
    changes, _cursor = device.pull_all()
    assert len(changes) == 3
    assert changes[0]["contents"]["summary"] == registration()["summary"]
