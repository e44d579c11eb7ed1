"""PyTorch reference for bench/evaluator-score.ts: the same forward passes as biomed-eval.

Reads an HF LLaMA checkpoint (config.json + model.safetensors, F32) without transformers, runs the
batches of token rows given in a JSON file (right-padded, exactly as the TypeScript engine batched
them), and writes per-query (sum of log-probs, is_greedy) plus wall time. The LLaMA forward is the
textbook one (RMSNorm, rotate-half RoPE, causal attention with GQA, SwiGLU), written here
independently of the TypeScript model.
Run: /usr/bin/python3 scripts/torch_llama.py CKPT_DIR ROWS.json OUT.json
"""
import json
import struct
import sys
import time

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": torch.float32, "BF16": torch.bfloat16}[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=dtype).reshape(info["shape"]).float()
    return out


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def forward(w, cfg, ids):
    B, T = ids.shape
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    D = cfg["hidden_size"] // H
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((T, T), float("-inf")).triu(1)
    h = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms(h, w[p + "input_layernorm.weight"], eps)
        q = (x @ w[p + "self_attn.q_proj.weight"].T).view(B, T, H, D).transpose(1, 2)
        k = (x @ w[p + "self_attn.k_proj.weight"].T).view(B, T, KV, D).transpose(1, 2)
        v = (x @ w[p + "self_attn.v_proj.weight"].T).view(B, T, KV, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / D**0.5 + mask, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, H * D)
        h = h + o @ w[p + "self_attn.o_proj.weight"].T
        x = rms(h, w[p + "post_attention_layernorm.weight"], eps)
        g = x @ w[p + "mlp.gate_proj.weight"].T
        u = x @ w[p + "mlp.up_proj.weight"].T
        h = h + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    h = rms(h, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return torch.log_softmax(h @ head.T, dim=-1)


def score_requests(w, cfg, requests):
    """[(context_enc, continuation_enc)] -> [(sum log p, is_greedy)], one unpadded sequence each,
    left-truncated to max_position_embeddings + 1 as lm-eval does."""
    L = cfg["max_position_embeddings"]
    out = []
    with torch.no_grad():
        for ctx, cont in requests:
            whole = (ctx + cont)[-(L + 1):]
            inp = torch.tensor([whole[:-1]])
            lp = forward(w, cfg, inp)[0]
            n = len(cont)
            dist = lp[len(whole) - 1 - n:]
            tok = torch.tensor(cont)
            out.append([dist.gather(1, tok[:, None]).sum().item(), bool((dist.argmax(-1) == tok).all())])
    return out


def main():
    ckpt, rows_path, out_path = sys.argv[1:4]
    cfg = json.load(open(f"{ckpt}/config.json"))
    w = load_safetensors(f"{ckpt}/model.safetensors")
    batches = json.load(open(rows_path))
    results = []
    with torch.no_grad():
        forward(w, cfg, torch.tensor([batches[0][0]["input"]]))  # warm-up, as the TS side does
        t0 = time.perf_counter()
        for batch in batches:
            T = max(len(r["input"]) for r in batch)
            ids = torch.tensor([r["input"] + [0] * (T - len(r["input"])) for r in batch])
            lp = forward(w, cfg, ids)
            for b, r in enumerate(batch):
                for q in r["queries"]:
                    pos = torch.arange(q["start"], q["start"] + len(q["tokens"]))
                    dist = lp[b, pos]
                    tok = torch.tensor(q["tokens"])
                    ll = dist.gather(1, tok[:, None]).sum().item()
                    greedy = bool((dist.argmax(-1) == tok).all())
                    results.append([ll, greedy])
        seconds = time.perf_counter() - t0
    json.dump({"seconds": seconds, "threads": torch.get_num_threads(), "torch": torch.__version__, "results": results}, open(out_path, "w"))


if __name__ == "__main__":
    main()
