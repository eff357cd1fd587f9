"""Tiny random-weight models for the diffusion backends, built in-process (tokenizers too)
and saved with `save_pretrained`, so the backends' real loading code reads them.

    python tests/support/tiny_models.py    # writes tests/.tiny/, which tests/tiny.toml points at

Compute does not depend on weight values; these prove the wiring on a CPU in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).parents[1] / ".tiny"  # beside tests/tiny.toml, whose model paths are relative to it


def t5_parts(umt5: bool = True):
    """A T5 tokenizer built from a word list, and a 32-wide encoder (UMT5 for Wan, T5 for LTX)."""
    import torch
    from transformers import T5Config, T5EncoderModel, T5Tokenizer, UMT5Config, UMT5EncoderModel

    words = ["<pad>", "</s>", "<unk>"] + list("abcdefghijklmnopqrstuvwxyz.,") + [f"w{i}" for i in range(40)]
    tokenizer = T5Tokenizer(vocab=[(w, -float(i)) for i, w in enumerate(words)], extra_ids=0)
    torch.manual_seed(0)
    config, model = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    encoder = model(config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                           relative_attention_num_buckets=8))
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


def ltx(target: Path) -> None:
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXConditionPipeline, LTXVideoTransformer3DModel

    tokenizer, text_encoder = t5_parts(umt5=False)
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1), timestep_conditioning=False,
        patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    LTXConditionPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                         text_encoder=text_encoder, tokenizer=tokenizer).save_pretrained(target)


def sd15(target: Path) -> None:
    """A Stable Diffusion 1.5-shaped pipeline, and an IP-Adapter for it in `target/ip-adapter`."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=8, attention_head_dim=8,
    )
    vae = AutoencoderKL(block_out_channels=[16, 32], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        norm_num_groups=8)
    text_encoder = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=2, hidden_size=32,
                                                intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                                                vocab_size=len(tokenizer), projection_dim=32))
    StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=EulerDiscreteScheduler(),
        safety_checker=None, feature_extractor=CLIPImageProcessor(size=32, crop_size=32), requires_safety_checker=False,
    ).save_pretrained(target)

    image_ip_adapter(unet, target / "ip-adapter")


def clip_tokenizer():
    """A CLIP tokenizer over single letters, built in-process."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for i, ch in enumerate("abcdefghijklmnopqrstuvwxyz"):
        vocab[ch], vocab[ch + "</w>"] = 3 + i, 29 + i
    return CLIPTokenizer(vocab=vocab, merges=[], pad_token="!", model_max_length=77)


def image_ip_adapter(unet, adapter: Path) -> None:
    """An IP-Adapter in the published checkpoint layout: image projection, per-layer key/value
    weights, and its CLIP image encoder beside them."""
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=16, projection_dim=16, num_hidden_layers=2,
                                                   num_attention_heads=2, image_size=32, intermediate_size=32,
                                                   patch_size=8)).save_pretrained(adapter / "image_encoder")
    projection = ImageProjection(cross_attention_dim=unet.config.cross_attention_dim, image_embed_dim=16,
                                 num_image_text_embeds=4).state_dict()
    weights = {"image_proj.proj.weight": projection["image_embeds.weight"],
               "image_proj.proj.bias": projection["image_embeds.bias"],
               "image_proj.norm.weight": projection["norm.weight"], "image_proj.norm.bias": projection["norm.bias"]}
    weights |= _ip_attention_weights(unet)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(adapter / "ip-adapter.safetensors"))


def _ip_attention_weights(unet) -> dict:
    """The image branch (key and value) of every cross-attention layer, in checkpoint numbering."""
    import torch

    weights, key, width = {}, 1, unet.config.cross_attention_dim
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue  # self-attention has no image branch
        block = name.split(".")[0]
        channels = unet.config.block_out_channels
        hidden = (channels[-1] if block == "mid_block" else
                  list(reversed(channels))[int(name.split(".")[1])] if block == "up_blocks" else channels[int(name.split(".")[1])])
        # Strong enough that a portrait moves a 2-step tiny render past 8-bit rounding.
        weights[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hidden, width) * 3.0
        weights[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hidden, width) * 3.0
        key += 2
    return weights


def sdxl(target: Path) -> None:
    """A Stable Diffusion XL-shaped pipeline (two text encoders, size conditioning) and an IP-Adapter."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80, cross_attention_dim=64, norm_num_groups=8,  # 80 = 6 * 8 + 32
    )
    vae = AutoencoderKL(block_out_channels=[16, 32], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        norm_num_groups=8)
    config = CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=2, hidden_size=32, intermediate_size=37,
                            num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer), projection_dim=32)
    StableDiffusionXLPipeline(vae=vae, text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config),
                              tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
                              scheduler=EulerDiscreteScheduler()).save_pretrained(target)
    image_ip_adapter(unet, target / "ip-adapter")


def clip(target: Path) -> None:
    """A CLIP model (text and vision towers) with its processor, for the metrics."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTextConfig, CLIPVisionConfig

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    text = CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=2, hidden_size=32, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer))
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                              image_size=32, patch_size=8)
    CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=16)).save_pretrained(target)
    CLIPProcessor(image_processor=CLIPImageProcessor(size=32, crop_size=32), tokenizer=tokenizer).save_pretrained(target)


def arcface(target: Path) -> None:
    """An ONNX model with ArcFace's interface (1x3x112x112 face in, 512 numbers out), for insightface."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((48, 512)).astype(np.float32), "w")
    nodes = [helper.make_node("AveragePool", ["data"], ["pooled"], kernel_shape=[28, 28], strides=[28, 28], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
             helper.make_node("MatMul", ["flat", "w"], ["fc1"], name="fc")]
    graph = helper.make_graph(nodes, "arcface", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 112, 112])],
                              [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 512])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    target.mkdir(parents=True)
    onnx.save(model, str(target / "arcface.onnx"))


def face_detector(target: Path, score: float = 0.99) -> None:
    """An ONNX model with SCRFD's interface (a 640x640 image in; scores, boxes and landmarks for
    strides 8, 16 and 32 out) that reports one face in the middle of whatever it is shown, with
    `score` as its confidence (below insightface's threshold: no face at all)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    template = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)
    # Every output is a function of the input (times zero), as insightface runs a real graph.
    nodes = [helper.make_node("ReduceMean", ["input.1"], ["mean"], keepdims=0, name="reduce"),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"], name="times_zero")]
    constants = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outputs = []
    for kind, width in (("score", 1), ("bbox", 4), ("kps", 10)):
        for stride in (8, 16, 32):
            anchors = (640 // stride) ** 2 * 2
            value = np.zeros((anchors, width), np.float32)
            if stride == 32:
                centre = (10 * 20 + 10) * 2  # the anchor at (320, 320); distances are in strides
                value[centre] = {"score": [score], "bbox": [100 / 32] * 4,
                                 "kps": ((template - 56) * (200 / 112) / 32).reshape(-1)}[kind]
            name = f"{kind}_{stride}"
            constants.append(numpy_helper.from_array(value, f"{name}_value"))
            nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name], name=f"add_{name}"))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [anchors, width]))
    graph = helper.make_graph(nodes, "detector", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 640, 640])],
                              outputs, constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    target.mkdir(parents=True)
    onnx.save(model, str(target / "detector.onnx"))


def sd15_faceid(target: Path) -> None:
    """IP-Adapter FaceID weights for the tiny SD 1.5 (no image encoder: faces come as ArcFace embeddings)."""
    import torch
    from diffusers import UNet2DConditionModel
    from diffusers.models.embeddings import IPAdapterFaceIDImageProjection
    from safetensors.torch import save_file

    unet = UNet2DConditionModel.from_pretrained(target.parent / "sd15" / "unet")
    torch.manual_seed(1)
    projection = IPAdapterFaceIDImageProjection(cross_attention_dim=32, image_embed_dim=512, mult=2, num_tokens=4).state_dict()
    weights = {"image_proj.proj.0.weight": projection["ff.net.0.proj.weight"], "image_proj.proj.0.bias": projection["ff.net.0.proj.bias"],
               "image_proj.proj.2.weight": projection["ff.net.2.weight"], "image_proj.proj.2.bias": projection["ff.net.2.bias"],
               "image_proj.norm.weight": projection["norm.weight"], "image_proj.norm.bias": projection["norm.bias"]}
    weights |= _ip_attention_weights(unet)
    target.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(target / "ip-adapter-faceid.safetensors"))


def wan_i2v_lora(target: Path) -> None:
    """A LoRA for the tiny Wan I2V transformer, saved the way diffusers saves a trained one."""
    import torch
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = WanTransformer3DModel.from_pretrained(target.parent / "wan-i2v" / "transformer")
    torch.manual_seed(2)
    # Random rather than zero B matrices: a fresh LoRA would change nothing.
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                       init_lora_weights=False))
    WanImageToVideoPipeline.save_lora_weights(target, transformer_lora_layers=get_peft_model_state_dict(transformer))


def gemma_letters():
    """A character-level Gemma tokenizer over letters, digits and punctuation: the prompts' words spelt out."""
    from transformers import GemmaTokenizer

    letters = ["▁", *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;-'\"()!?>"]
    vocab = {token: i for i, token in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", *letters])}
    return GemmaTokenizer(vocab=vocab, merges=[])


def ltx2_vae(temporal: int = 8):
    """An LTX-2 video VAE with the real block layout (32x spatial, `temporal`x temporal) at 8-32 channels, 8 latent
    (its weights drawn from torch's generator as the caller left it)."""
    from diffusers import AutoencoderKLLTX2Video

    return AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 16, 16),
        decoder_block_out_channels=(8, 16, 32), layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True), decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_type=("spatiotemporal", "spatiotemporal", "spatiotemporal"), upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2), patch_size=4, patch_size_t=1,
        # The blocks compress 32x and 8x; the formula the VAE would use for this layout says otherwise.
        spatial_compression_ratio=32, temporal_compression_ratio=temporal)


def sana_wm(target: Path) -> None:
    """A SANA-WM-shaped camera-conditioned image-to-video pipeline: a character-level Gemma
    tokenizer, a 2-layer Gemma-2, an LTX-2 VAE with the real block layout (32x spatial,
    8x temporal) at 8-32 channels, and a 2-block SANA-WM transformer (one linear-attention
    block, one softmax block)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SanaWMPipeline, SanaWMTransformer3DModel
    from transformers import Gemma2Config, Gemma2Model

    temporal = 8
    tokenizer = gemma_letters()
    torch.manual_seed(0)
    text_encoder = Gemma2Model(Gemma2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=1024, pad_token_id=0, eos_token_id=1, bos_token_id=2))
    vae = ltx2_vae(temporal)
    transformer = SanaWMTransformer3DModel(
        in_channels=8, num_layers=2, hidden_size=64, num_attention_heads=2, linear_head_dim=32, softmax_every_n=2,
        caption_channels=32, chunk_plucker_channels=6 * temporal, chunk_plucker_post_attn_blocks=2, mlp_ratio=2.0,
        image_size=64)
    # The camera embedder starts at zero in the real model (trained from there); random weights
    # let the camera path reach the output, as trained weights do.
    torch.nn.init.normal_(transformer.plucker_embedder.proj.weight, std=0.05)
    SanaWMPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                   transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0)).save_pretrained(target)


def ltx2(target: Path) -> None:
    """An LTX-2-shaped joint audio-video image-to-video pipeline: the character-level Gemma
    tokenizer, a 2-layer Gemma-3 (a 1-layer SigLIP beside it, as Gemma-3's class needs),
    the LTX-2 VAE with the real block layout, a 2-block audio-video transformer, its text
    connectors, and an audio VAE and vocoder that make 1600 samples a second: 25 audio
    latents a second as LTX-2 has, each 4 mel frames of a 16-sample hop, each mel frame 16
    samples out of the vocoder, so a clip's track lasts as long as its frames do."""
    import torch
    from diffusers import (AutoencoderKLLTX2Audio, FlowMatchEulerDiscreteScheduler, LTX2ImageToVideoPipeline,
                           LTX2VideoTransformer3DModel)
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    tokenizer = gemma_letters()
    words = len(tokenizer)
    torch.manual_seed(0)
    text = Gemma3TextConfig(vocab_size=words, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                            num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=1024,
                            sliding_window=64, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    vision = SiglipVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                                image_size=8, patch_size=4)
    text_encoder = Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=text, vision_config=vision, mm_tokens_per_image=4,
        boi_token_index=words, eoi_token_index=words + 1, image_token_index=words + 2))
    # The connectors read every layer's hidden states side by side: the embeddings' and each layer's.
    connectors = LTX2TextConnectors(
        caption_channels=16, text_proj_in_factor=3, video_connector_num_attention_heads=2,
        video_connector_attention_head_dim=8, video_connector_num_layers=1, video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=2, audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_double_precision=False,
        rope_type="split")
    transformer = LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=16, rope_double_precision=False, rope_type="split")
    vae = ltx2_vae()
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=1600, mel_hop_length=16, is_causal=True, mel_bins=8)
    vocoder = LTX2Vocoder(in_channels=2 * 8, hidden_channels=16, out_channels=2, upsample_kernel_sizes=[8, 8],
                          upsample_factors=[4, 4], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
                          leaky_relu_negative_slope=0.1, output_sampling_rate=1600)
    LTX2ImageToVideoPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
        tokenizer=tokenizer, connectors=connectors, transformer=transformer, vocoder=vocoder,
    ).save_pretrained(target)


def stable_audio(target: Path) -> None:
    """A Stable Audio Open-shaped text-to-music pipeline: T5 text encoder, seconds projection,
    a 2-block DiT and an Oobleck VAE, at 512 samples a second, at most 48 s a generation
    (384 latents of 64 samples: as long as Stable Audio Open's 47.55 s, so its defaults hold)."""
    import torch
    from diffusers import (AutoencoderOobleck, CosineDPMSolverMultistepScheduler, StableAudioDiTModel,
                           StableAudioPipeline, StableAudioProjectionModel)

    tokenizer, text_encoder = t5_parts(umt5=False)
    tokenizer.model_max_length = 256  # the pipeline pads every prompt to it; this one spells prompts letter by letter
    torch.manual_seed(0)
    # The DiT reads the projected text (conditioning_dim wide) and the start and end seconds side by side (twice that).
    transformer = StableAudioDiTModel(sample_size=384, in_channels=4, out_channels=4, num_layers=2, attention_head_dim=8,
                                      num_attention_heads=2, num_key_value_attention_heads=1, cross_attention_dim=16,
                                      time_proj_dim=8, cross_attention_input_dim=8, global_states_input_dim=16)
    projection_model = StableAudioProjectionModel(text_encoder_dim=32, conditioning_dim=8, min_value=0, max_value=64)
    vae = AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[4, 4, 4], channel_multiples=[1, 2, 4],
                             decoder_channels=4, decoder_input_channels=4, audio_channels=2, sampling_rate=512)
    # Random weights come out near full scale; a quieter last layer leaves the headroom a real
    # model's output has, so a swell is not clipped away.
    with torch.no_grad():
        vae.decoder.conv2.weight_g.mul_(0.15)
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection_model, tokenizer=tokenizer,
                        transformer=transformer, scheduler=scheduler).save_pretrained(target)


def vits(target: Path, speakers: int = 1) -> None:
    """A VITS text-to-speech model shaped like MMS-TTS (letters in, 16 kHz audio out, 256
    samples a frame) at 16 channels with one layer or flow per part, and its tokenizer over
    a lower-case alphabet; `speakers` > 1 gives it speaker embeddings, as multi-speaker
    checkpoints have."""
    import json

    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    letters = ["<pad>", "<unk>", *" abcdefghijklmnopqrstuvwxyz'"]  # id 0 is the blank VITS puts between letters
    target.mkdir(parents=True)
    (target / "vocab.json").write_text(json.dumps({letter: i for i, letter in enumerate(letters)}))
    tokenizer = VitsTokenizer(vocab_file=str(target / "vocab.json"), phonemize=False)
    torch.manual_seed(0)
    model = VitsModel(VitsConfig(
        vocab_size=len(letters), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=32, flow_size=8,
        spectrogram_bins=9, upsample_initial_channel=16, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
        resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]], depth_separable_num_layers=1,
        duration_predictor_filter_channels=16, duration_predictor_num_flows=1, prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1, sampling_rate=16000,
        num_speakers=speakers, speaker_embedding_size=8 if speakers > 1 else 0))
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


BUILDERS = {"wan-i2v": wan_i2v, "wan-i2v-lora": wan_i2v_lora, "wan-vace": wan_vace, "ltx": ltx, "sd15": sd15, "sdxl": sdxl, "clip": clip, "arcface": arcface, "face-detector": face_detector, "face-detector-blind": lambda target: face_detector(target, score=0.0), "sd15-faceid": sd15_faceid, "sana-wm": sana_wm, "ltx2": ltx2, "stable-audio": stable_audio, "vits": vits}


def build(root: Path = ROOT, only: tuple[str, ...] | None = None) -> Path:
    """Build every tiny model (or those named in `only`) not built yet; return the directory holding them."""
    import shutil

    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    # The test workers (pytest -n) build into the same folder: one builds while the others wait for its models.
    with FileLock(root / "building.lock"):
        for name, builder in BUILDERS.items():
            if only is not None and name not in only:
                continue
            target = root / name
            if target.exists():
                continue
            # Built aside and renamed, so an interrupted build is never taken for a model.
            partial = root / f"{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            builder(partial)
            partial.rename(target)
    return root


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT))
