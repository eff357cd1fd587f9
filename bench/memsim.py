"""A GPU's memory at real model sizes, simulated on any CPU: what `bench/gpu_realscale.py --simulate` runs on.

Memory does not depend on weight values, so a stage can run with no values at all. Under
`simulation()` every tensor is a fake one (torch's FakeTensorMode): an op computes only its
output's shape, dtype and device. The project's own code runs unchanged on top:

- **Weights.** The bench's models are saved as safetensors files holding only a header (the
  body is a sparse hole: 83 GiB of apparent files, a few MB of disk). While simulating,
  `safe_open` and `load_file` give fake tensors of the header's shapes, so `from_pretrained`,
  the IP-Adapter and LoRA loaders, the levers and offload hooks all run as they would.
- **CUDA.** A CPU build of torch has no CUDA device guard, so a fake CUDA tensor could not be
  indexed; a no-op one is compiled once (C++, about 25 s; needs g++). Streams and pinned
  memory have no CPU build either: a stream is a stand-in whose copies count when they are
  made (their overlap is not simulated), and pinning a tensor makes a host copy.
- **Attention.** A CUDA build sends SDPA to the flash or memory-efficient kernel; a CPU build
  would take the math path and its L x L score matrix, so `FusedAttention` dispatches as CUDA does.
- **Counting.** `Meter` is a dispatch mode that sees every storage an op makes and counts it
  until its last reference dies, rounded up to 512 bytes as CUDA's caching allocator rounds:
  device bytes as `torch.cuda.memory_allocated` counts them, and host bytes as the kernel
  counts a process's anonymous memory (`RssAnon`). Weights read from a safetensors file are
  memory-mapped (safetensors maps the file; a tensor loaded in the file's dtype stays a view
  of the page cache, which the kernel can drop and read again), so they count as *mapped*;
  an empty host tensor's pages are no one's until written (*untouched*); every other host
  storage (a cast, a pinned copy, an activation) is *owned*, the memory a process holds and
  a machine must have. tests/test_memory.py checks the owned count against the kernel's.
- **Values.** A few small tensors need real values (token ids, masks, a scheduler's sigmas):
  `ShadowValues` computes every op on tensors of up to 64k elements for real beside the fake
  one, so `.item()`, `.tolist()` and data-dependent shapes answer as they would. Image and
  video pre- and post-processing, and the making of a clip's sound track, run on real host arrays
  (a decoded fake video or waveform becomes zeros of its shape, after its memory was counted).

What it does not model, and the margin that covers it: cuBLAS/cuDNN workspaces, the caching
allocator's fragmentation and reserved-but-free blocks, the overlap of copy streams with
compute, and `torch.compile` (which does not run under fake tensors: compiled memory is the
eager memory here). Against an H100 the simulation ran about 1% low (docs/benchmarks.md);
`MARGIN` is the headroom budgets and the pre-flight check add for it.

The simulation leans on private details of torch, diffusers, accelerate and safetensors;
`require_versions` refuses any other versions than those it was checked with, naming them.
"""

from __future__ import annotations

import json
import os
import struct
import weakref
from contextlib import ExitStack, contextmanager, nullcontext
from importlib.metadata import version
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import (
    DataDependentOutputException, DynamicOutputShapeException, FakeTensor, FakeTensorMode,
)
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_flatten, tree_map_only, tree_unflatten
from torch.utils.weak import WeakIdKeyDictionary

GiB = 2**30
NOT_MODELLED = ("Not modelled: cuBLAS/cuDNN workspaces, the caching allocator's fragmentation and reserved blocks, "
                "copy streams overlapping compute, and torch.compile (eager memory is counted); against an H100 the "
                "simulation ran about 1% low, and budgets and `scenegen check` add 5% for it.")
# Headroom over a simulated peak for what is not modelled (workspaces, fragmentation, stream overlap):
# the simulation ran 0.5 GiB (about 1%) low against the H100; 5% covers that with room.
MARGIN = 1.05
# The versions the simulation was checked with: it patches private details of each.
CHECKED_WITH = {"torch": "2.13.0", "diffusers": "0.42.1", "transformers": "5.25.0", "accelerate": "1.16.0",
                "safetensors": "0.8.0"}


def require_versions() -> None:
    moved = {name: version(name).split("+")[0] for name in CHECKED_WITH}
    moved = {name: found for name, found in moved.items() if found != CHECKED_WITH[name]}
    if moved:
        raise SystemExit(
            "the memory simulation was checked with " + ", ".join(f"{n} {v}" for n, v in CHECKED_WITH.items())
            + "; this environment has " + ", ".join(f"{n} {v}" for n, v in moved.items())
            + ": check bench/memsim.py's patches against them (and the H100 validation), then update CHECKED_WITH")


# --- Weightless safetensors ------------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
                      torch.float8_e4m3fn: "F8_E4M3"}
TORCH_DTYPES = {name: dtype for dtype, name in SAFETENSORS_DTYPES.items()}


def save_header_only(tensors: dict, filename, metadata: dict | None = None) -> None:
    """A safetensors file whose header describes `tensors` and whose body is a hole of their size."""
    header, offset = ({"__metadata__": metadata} if metadata else {}), 0
    for name, tensor in tensors.items():
        size = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(filename, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        f.truncate(8 + len(blob) + offset)


def header_only_saving() -> list:
    """Patches under which diffusers and transformers save a model (built on the meta device) header-only."""
    import safetensors.torch
    import transformers.modeling_utils

    return [(safetensors.torch, "save_file", save_header_only),
            (transformers.modeling_utils, "safe_save_file", save_header_only)]


def _header(filename) -> tuple[dict, dict | None]:
    with open(filename, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return header, header.pop("__metadata__", None)


def _device(device) -> str:
    return "cpu" if device in (None, "cpu") or isinstance(device, int) else str(device)


def _mapped_tensor(entry: dict, device: str) -> torch.Tensor:
    """A fake tensor as safetensors gives it: on the host, a view of the mapped file; elsewhere, a copy there."""
    tensor = torch.empty(entry["shape"], dtype=TORCH_DTYPES[entry["dtype"]], device=device)
    if device == "cpu" and (meter := Meter.active) is not None:
        meter.mapped(tensor)
    return tensor


class _Slice:
    def __init__(self, entry, device):
        self.entry, self.device = entry, device

    def get_shape(self):
        return list(self.entry["shape"])

    def get_dtype(self):
        return self.entry["dtype"]

    def __getitem__(self, index):
        return _mapped_tensor(self.entry, self.device)[index]


class SafeOpen:
    """`safetensors.safe_open` over a header-only file."""

    def __init__(self, filename, framework="pt", device="cpu", **_):
        self.entries, self._metadata = _header(filename)
        self.device = _device(device)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self.entries)

    offset_keys = keys

    def metadata(self):
        return self._metadata

    def get_tensor(self, name):
        return _mapped_tensor(self.entries[name], self.device)

    def get_slice(self, name):
        return _Slice(self.entries[name], self.device)


def load_file(filename, device="cpu"):
    entries, _ = _header(filename)
    return {name: _mapped_tensor(entry, _device(device)) for name, entry in entries.items()}


# --- Counting ----------------------------------------------------------------------------------------------------

# Ops that make a tensor without writing it.
UNINITIALISED = {torch.ops.aten.empty.memory_format, torch.ops.aten.empty_strided.default,
                 torch.ops.aten.empty_like.default, torch.ops.aten.new_empty.default}


class Meter(TorchDispatchMode):
    """Live bytes of every storage ops make, by where they live (device, owned host, mapped host), with peaks.

    `phase` names what runs now (set by the caller and by forward hooks), so a report says where the
    device peak was."""

    active: "Meter | None" = None

    def __init__(self):
        super().__init__()
        # Host memory an uninitialised tensor takes is untouched until written: no page is the process's yet
        # (a model is built on the host, then moved to the meta device, with no page ever touched).
        self.current = {"device": 0, "host": 0, "mapped": 0, "untouched": 0}
        self.peak = dict(self.current)
        self.phase, self.peak_phase = "load", None
        self._seen = WeakIdKeyDictionary()   # storage -> [bytes, kind]

    def _free(self, entry) -> None:
        self.current[entry[1]] -= entry[0]

    def _count(self, tensor, untouched: bool) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type not in ("cuda", "cpu"):  # meta holds nothing
            return
        storage = tensor.untyped_storage()
        if storage in self._seen:
            return
        kind = "device" if tensor.device.type == "cuda" else "untouched" if untouched else "host"
        entry = [-(-storage.nbytes() // 512) * 512, kind]
        self._seen[storage] = entry
        weakref.finalize(storage, self._free, entry)
        self.current[entry[1]] += entry[0]

    def _move(self, tensor, kind: str) -> None:
        entry = self._seen.get(tensor.untyped_storage())
        if entry is not None and entry[1] in ("untouched", "host") and entry[1] != kind:
            self.current[entry[1]] -= entry[0]
            self.current[kind] += entry[0]
            entry[1] = kind

    def mapped(self, tensor) -> None:
        """`tensor` (just made) is a view of a memory-mapped file, not memory the process owns."""
        self._move(tensor, "mapped")

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            self._count(tensor, untouched=func in UNINITIALISED)
        if func._schema.is_mutable:   # written: host pages an empty tensor only reserved are now the process's
            for tensor in _written(func, args, kwargs or {}):
                if tensor.device.type == "cpu":
                    self._move(tensor, "host")
        for kind, now in self.current.items():
            if now > self.peak[kind]:
                self.peak[kind] = now
                if kind == "device":
                    self.peak_phase = self.phase
        return out

    # The figures a report reads, in GiB, as the bench reads torch.cuda's.
    def reset(self) -> None:
        self.peak, self.peak_phase = dict(self.current), None

    def resident(self) -> float:
        return self.current["device"] / GiB

    def device_peak(self) -> float:
        return self.peak["device"] / GiB

    def host_peak(self) -> float:
        return self.peak["host"] / GiB

    def peak_in(self) -> str | None:
        return self.peak_phase

    def watch(self, pipe) -> None:
        """Name the phase after each model of `pipe` while it runs (the text encoder, the denoiser, the VAE)."""
        def entering(name):
            def hook(module, args):
                self.phase = name
            return hook

        self.phase = "run"   # until a model's forward names it
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module):
                component.register_forward_pre_hook(entering(name))
        if isinstance(getattr(pipe, "vae", None), torch.nn.Module):
            for part in ("encoder", "decoder"):
                if (module := getattr(pipe.vae, part, None)) is not None:
                    module.register_forward_pre_hook(entering(f"vae.{part.removesuffix('r')}"))


def _written(func, args, kwargs) -> list:
    """The tensors an in-place or out= op writes into."""
    written = []
    for position, argument in enumerate(func._schema.arguments):
        if argument.alias_info is not None and argument.alias_info.is_write:
            value = args[position] if position < len(args) else kwargs.get(argument.name)
            written += [t for t in tree_flatten(value)[0] if isinstance(t, torch.Tensor)]
    return written


# --- Values where code needs them --------------------------------------------------------------------------------

SHADOWED = 1 << 16   # elements: ids, masks, timesteps, sigmas; never an activation


def _value(tensor):
    return tensor if not isinstance(tensor, FakeTensor) else tensor.__dict__.get("_simulated_value")


class ShadowValues(TorchDispatchMode):
    """Small tensors carry real values beside their fake ones, so data-dependent code runs as it would."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat, spec = tree_flatten((args, kwargs))
        values = [_value(a) if isinstance(a, torch.Tensor) else a for a in flat]
        known = all(v is not None for a, v in zip(flat, values) if isinstance(a, torch.Tensor))
        if func is torch.ops.aten._local_scalar_dense.default:
            if not known:
                raise RuntimeError(f"the simulation needs the value of a tensor of shape {tuple(flat[0].shape)}, "
                                   "whose values it does not have (it holds values only below 64k elements)")
            with _disable_current_modes():
                return values[0].item()
        if func is torch.ops.aten._pin_memory.default:   # pinned host memory is a host copy
            return torch.ops.aten.clone.default(args[0])
        real = None
        if known and func not in UNINITIALISED and all(v.numel() <= SHADOWED for v in values
                                                        if isinstance(v, torch.Tensor)):
            on_cpu = [torch.device("cpu") if isinstance(v, torch.device) else v for v in values]
            real_args, real_kwargs = tree_unflatten(on_cpu, spec)
            try:
                with _disable_current_modes():
                    real = func(*real_args, **real_kwargs)
            except Exception:  # noqa: BLE001 - an op the fake side computes anyway; its values stay unknown
                real = None
        try:
            out = func(*args, **kwargs)
        except (DataDependentOutputException, DynamicOutputShapeException):
            if real is None:
                raise
            device = next(a.device for a in flat if isinstance(a, torch.Tensor))
            out = tree_map_only(torch.Tensor, lambda r: torch.empty_strided(r.shape, r.stride(), dtype=r.dtype,
                                                                            device=device), real)
        if real is not None:
            outs, reals = tree_flatten(out)[0], tree_flatten(real)[0]
            if len(outs) == len(reals):
                for fake, value in zip(outs, reals):
                    if isinstance(fake, FakeTensor) and isinstance(value, torch.Tensor) and value.numel() <= SHADOWED:
                        fake.__dict__["_simulated_value"] = value
        elif func._schema.is_mutable:   # written without values: what it held is no longer known
            for a in flat:
                if isinstance(a, FakeTensor):
                    a.__dict__.pop("_simulated_value", None)
        return out


def _known(tensor, what: str):
    if (value := _value(tensor)) is None:
        raise RuntimeError(f"{what} of a simulated tensor of shape {tuple(tensor.shape)}, whose values are not known")
    with _disable_current_modes():
        return value.detach()


class FusedAttention(TorchFunctionMode):
    """SDPA as a CUDA build dispatches it: flash attention for 16-bit inputs without a mask, else the
    memory-efficient kernel; never the math path's L x L score matrix."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention:
            return func(*args, **kwargs)
        names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
        bound = {**dict(zip(names, args)), **kwargs}
        q, k, v, mask = bound["query"], bound["key"], bound["value"], bound.get("attn_mask")
        causal, scale = bound.get("is_causal", False), bound.get("scale")
        if q.dtype in (torch.bfloat16, torch.float16) and mask is None and q.shape[-1] <= 256 and k.shape[-1] == v.shape[-1]:
            return torch.ops.aten._scaled_dot_product_flash_attention(q, k, v, 0.0, causal, False, scale=scale)[0]
        if mask is not None and mask.dtype == torch.bool:
            mask = torch.zeros_like(mask, dtype=q.dtype).masked_fill(~mask, float("-inf"))
        if mask is not None:
            mask = mask.expand(q.shape[0], q.shape[1], q.shape[-2], k.shape[-2])
        return torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, mask, False, 0.0, causal, scale=scale)[0]


# --- Where the libraries meet fake tensors --------------------------------------------------------------------------

def _host(data):
    """A fake decoded video, image or waveform as zeros of its shape (its memory was counted while it was made)."""
    return torch.zeros(data.shape, dtype=torch.float32) if isinstance(data, FakeTensor) else data


def _real_arrays(method):
    """Pre- and post-processing run on real host arrays: their branches read values."""
    def wrapper(self, data, *args, **kwargs):
        with _disable_current_modes():
            return method(self, _host(data), *args, **kwargs)
    return wrapper


def _real_waveform(function):
    """A clip's sound is made a host array (clip.ltx2's `_track`) from a real one."""
    def wrapper(audio, *args, **kwargs):
        with _disable_current_modes():
            return function(_host(audio), *args, **kwargs)
    return wrapper


_fake_new = FakeTensor.__new__


def _rewrapped(cls, *args, **kwargs):
    # accelerate re-wraps a value in type(old parameter), which under fake mode is FakeTensor itself, passing the
    # old one's __dict__ (its fake device among it): the value must stay what it is (on the meta device, say).
    # FakeTensor's own constructor takes the fake mode first, never a tensor.
    if args and isinstance(args[0], torch.Tensor):
        return torch.nn.Parameter(args[0], requires_grad=kwargs.get("requires_grad", False))
    return _fake_new(cls, *args, **kwargs)


_swap_tensors = torch.utils.swap_tensors


def _swap_forgetting_memo(first, second):
    # Module.to swaps a parameter in place, which torch refuses while the fake converter's memo holds a weak reference.
    from torch._guards import active_fake_mode

    if (mode := active_fake_mode()) is not None:
        mode.fake_tensor_converter.meta_converter.tensor_memo.clear()
    return _swap_tensors(first, second)


_module_to = torch.nn.Module.to


def _to_keeping_ties(self, *args, **kwargs):
    # A parameter two modules share (UMT5's embedding) stays one: on CUDA `param.data = ...` keeps it shared,
    # while a fake parameter would be replaced by a new one per owner, and counted twice.
    owners: dict[int, list] = {}
    for module in self.modules():
        for name, parameter in module._parameters.items():
            if parameter is not None:
                owners.setdefault(id(parameter), []).append((module, name))
    out = _module_to(self, *args, **kwargs)
    for group in (g for g in owners.values() if len(g) > 1):
        first = group[0][0]._parameters[group[0][1]]
        for module, name in group[1:]:
            module._parameters[name] = first
    return out


_data = torch._C.TensorBase.data


def _set_data(self, new):
    # Group offload's `param.data = x` moves a parameter: its fake device must follow.
    _data.__set__(self, new)
    if isinstance(new, FakeTensor):
        self.fake_device = new.fake_device


def _deepcopy_by_clone(self, memo):
    # copy.deepcopy (LTX-2 copies its scheduler, sigmas and all, for the sound) copies a tensor's storage byte by
    # byte, which a fake tensor has none of; a clone is the same copy as an op: counted, its shadowed value carried.
    if id(self) not in memo:
        memo[id(self)] = self.clone()
    return memo[id(self)]


class _Stream:
    """torch.cuda.Stream for a CPU build: work on it happens at once, in program order."""

    def __init__(self, *args, **kwargs):
        pass

    def synchronize(self):
        pass

    def wait_stream(self, other):
        pass

    def wait_event(self, event):
        pass

    def record_event(self, event=None):
        return None

    def query(self):
        return True


def _patches() -> list:
    import diffusers.loaders.ip_adapter
    import safetensors
    import safetensors.torch
    import transformers.modeling_utils
    from diffusers.image_processor import VaeImageProcessor
    from diffusers.video_processor import VideoProcessor

    import scenegen.modules.clip.ltx2

    return [
        (safetensors, "safe_open", SafeOpen), (safetensors.torch, "safe_open", SafeOpen),
        (safetensors.torch, "load_file", load_file), (transformers.modeling_utils, "safe_open", SafeOpen),
        (diffusers.loaders.ip_adapter, "safe_open", SafeOpen),
        (VideoProcessor, "postprocess_video", _real_arrays(VideoProcessor.postprocess_video)),
        (VaeImageProcessor, "postprocess", _real_arrays(VaeImageProcessor.postprocess)),
        (VaeImageProcessor, "preprocess", _real_arrays(VaeImageProcessor.preprocess)),
        (VideoProcessor, "preprocess_video", _real_arrays(VideoProcessor.preprocess_video)),
        (scenegen.modules.clip.ltx2, "_track", _real_waveform(scenegen.modules.clip.ltx2._track)),
        (FakeTensor, "__new__", staticmethod(_rewrapped)), (torch.utils, "swap_tensors", _swap_forgetting_memo),
        (torch.nn.Module, "to", _to_keeping_ties), (FakeTensor, "data", property(_data.__get__, _set_data)),
        (FakeTensor, "numpy", lambda self, *a, **k: _known(self, ".numpy()").numpy(*a, **k)),
        (FakeTensor, "tolist", lambda self: _known(self, ".tolist()").tolist()),
        (FakeTensor, "__deepcopy__", _deepcopy_by_clone),
        (torch.cuda, "Stream", _Stream), (torch.cuda, "stream", lambda stream=None: nullcontext()),
        (torch.cuda, "current_stream", lambda *a, **k: _Stream()), (torch.cuda, "synchronize", lambda *a, **k: None),
    ]


@contextmanager
def patched(targets: list):
    """Each (owner, attribute, value) set for the duration, then put back."""
    previous = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]
    for owner, name, value in targets:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in reversed(previous):
            setattr(owner, name, value)


def install_cuda_guard(build_directory: Path) -> None:
    """Compile (once per build directory) and register a CUDA device guard that does nothing."""
    from torch.utils.cpp_extension import load_inline

    source = r"""
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/Stream.h>
using namespace c10;
// One CUDA device, always current; streams and events complete at once.
struct SimulatedCUDAGuard final : public c10::impl::DeviceGuardImplInterface {
  DeviceType type() const override { return DeviceType::CUDA; }
  Device exchangeDevice(Device) const override { return Device(DeviceType::CUDA, 0); }
  Device getDevice() const override { return Device(DeviceType::CUDA, 0); }
  void setDevice(Device) const override {}
  void uncheckedSetDevice(Device) const noexcept override {}
  Stream getStream(Device) const noexcept override { return Stream(Stream::DEFAULT, Device(DeviceType::CUDA, 0)); }
  Stream getDefaultStream(Device) const override { return Stream(Stream::DEFAULT, Device(DeviceType::CUDA, 0)); }
  Stream exchangeStream(Stream) const noexcept override { return Stream(Stream::DEFAULT, Device(DeviceType::CUDA, 0)); }
  DeviceIndex deviceCount() const noexcept override { return 1; }
  void record(void**, const Stream&, const DeviceIndex, const EventFlag) const override {}
  void block(void*, const Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void*, const DeviceIndex) const noexcept override {}
  bool queryStream(const Stream&) const override { return true; }
  void synchronizeStream(const Stream&) const override {}
  void synchronizeDevice(const DeviceIndex) const override {}
};
C10_REGISTER_GUARD_IMPL(CUDA, SimulatedCUDAGuard);
int installed() { return 1; }
"""
    Path(build_directory).mkdir(parents=True, exist_ok=True)
    load_inline(name="simulated_cuda_guard", cpp_sources=source, functions=["installed"],
                build_directory=str(build_directory)).installed()


@contextmanager
def prepared(build_directory: Path):
    """The process ready to simulate: versions checked, the CUDA guard installed, the libraries patched.

    Nothing is simulated until a thread enters `counting`: dispatch modes belong to a thread, so code
    that loads and runs pipelines on a thread of its own (a render's device lane) enters it there."""
    require_versions()
    install_cuda_guard(build_directory)
    # transformers loads weights on a thread pool of its own, where no mode would see them; this keeps it on the
    # thread that loads, as it does anyway when it must watch memory (offloading, quantizing on the fly).
    with patched(_patches()), mock.patch.dict(os.environ, {"HF_DEACTIVATE_ASYNC_LOAD": "1"}):
        yield


@contextmanager
def simulation(build_directory: Path):
    """Everything run inside, on this thread, is simulated: fake tensors, fake CUDA, counted. Yields the Meter."""
    meter = Meter()
    with prepared(build_directory), counting(meter):
        yield meter


@contextmanager
def counting(meter: Meter):
    """The simulation's modes on this thread, counting into `meter`."""
    with ExitStack() as modes:
        for mode in (FakeTensorMode(allow_non_fake_inputs=True), FusedAttention(), meter, ShadowValues()):
            modes.enter_context(mode)
        Meter.active = meter
        try:
            yield
        finally:
            Meter.active = None


@contextmanager
def meta_construction():
    """Models built with no storage at all (the meta device), in bf16 as the bench builds them."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("meta"):
            yield
    finally:
        torch.set_default_dtype(previous)

