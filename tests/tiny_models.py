"""Tiny random-weight models for the diffusion backends, built in-process (tokenizers too)
and saved with `save_pretrained`, so the backends' real loading code reads them.

    python tests/tiny_models.py        # writes tests/.tiny/, which tests/tiny.toml points at

Compute does not depend on weight values; these prove the wiring on a CPU in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).parent / ".tiny"


def t5_parts(seed: int = 0):
    import torch
    from transformers import T5Config, T5Tokenizer, UMT5EncoderModel

    words = ["<pad>", "</s>", "<unk>"] + list("abcdefghijklmnopqrstuvwxyz.,") + [f"w{i}" for i in range(40)]
    tokenizer = T5Tokenizer(vocab=[(w, -float(i)) for i, w in enumerate(words)], extra_ids=0)
    torch.manual_seed(seed)
    encoder = UMT5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                        num_heads=4, relative_attention_num_buckets=8))
    return tokenizer, encoder


def wan_vae():
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def wan_i2v(target: Path) -> None:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    tokenizer, text_encoder = t5_parts()
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=4,
    )
    image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                     num_attention_heads=2, image_size=32, intermediate_size=16,
                                                     patch_size=1))
    WanImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=wan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=32, size=32), image_encoder=image_encoder, transformer=transformer,
    ).save_pretrained(target)


def wan_vace(target: Path) -> None:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    tokenizer, text_encoder = t5_parts()
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, vace_layers=[0, 2], vace_in_channels=96,
    )
    WanVACEPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=wan_vae(),
                    scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), transformer=transformer).save_pretrained(target)


BUILDERS = {"wan-i2v": wan_i2v, "wan-vace": wan_vace}


def build(root: Path = ROOT) -> Path:
    """Build every tiny model not built yet; return the directory holding them."""
    for name, builder in BUILDERS.items():
        target = root / name
        if not (target / "model_index.json").exists():
            builder(target)
    return root


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT))
