import torch

from stylecycle.precision import autocast, native_bf16, resolve_precision


def test_auto_precision_is_bf16_where_the_hardware_has_it_and_a_cpu_is_measured_faster_with_it(monkeypatch):
    from stylecycle import precision

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) and precision.bf16_convolutions_faster_on_cpu() else "fp32")
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    for faster, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(precision, "bf16_convolutions_faster_on_cpu", lambda faster=faster: faster)
        assert resolve_precision("auto", cpu) == expected
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("fp16", cpu) == "fp16"
    assert resolve_precision("bf16", cpu) == "bf16"  # asked for, given, measured slower or not


def test_autocast_computes_convolutions_in_the_chosen_dtype():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 8, 8)
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        with autocast(torch.device("cpu"), precision):
            assert conv(x).dtype == dtype


def test_the_default_layout_is_channels_last_on_cpu_and_pytorchs_own_elsewhere():
    from stylecycle.device import memory_format

    assert memory_format(None, torch.device("cpu")) == torch.channels_last
    assert memory_format(None, torch.device("cuda")) == torch.contiguous_format
    assert memory_format(False, torch.device("cpu")) == torch.contiguous_format
    assert memory_format(True, torch.device("cuda")) == torch.channels_last
