"""What the workspace measures with a loaded local model: P(yes)/P(no) of the
first answer token, and sampled answers. Loading (which weights, which device)
is local_model.py's job."""

from __future__ import annotations

import threading
from typing import Any


class LocalModel:
    """A loaded local model with the two measurements the workspace needs."""

    def __init__(self, name: str, model, tokenizer, weights_sha256: str, *, placement=None):
        import torch

        self.name = name
        self.placement = placement  # devices.Placement the model was loaded with (None: not said)
        self.model = model
        self.tokenizer = tokenizer
        self.weights_sha256 = weights_sha256
        self._torch = torch
        # Sampling seeds the global torch RNG; one call at a time keeps that honest.
        self._lock = threading.Lock()
        vocab = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
        words = [v.strip().lower() for v in vocab]
        self.yes_ids = [i for i, w in enumerate(words) if w == "yes"]
        self.no_ids = [i for i, w in enumerate(words) if w == "no"]
    def _encode(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def yes_no(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """P(yes) and P(no) of the answer's first token, summed over casings/spacings.
        The whole vocabulary is read, so no token is left unlisted (p_unlisted = 0):
        unlike an endpoint's top-k logprobs, there is nothing to bound."""
        inputs = self._encode(messages)
        with self._lock, self._torch.no_grad():
            probs = self.model(**inputs).logits[0, -1].float().softmax(-1)
        p_yes = float(probs[self.yes_ids].sum())
        p_no = float(probs[self.no_ids].sum())
        return {"p_yes": p_yes, "p_no": p_no, "p_unlisted": 0.0, "prompt_tokens": int(inputs["input_ids"].shape[1]),
                "completion_tokens": 0}

    def generate(self, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int, seed: int, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        """One sampled answer; the seed makes a given sample reproducible.
        Temperature 0 is greedy decoding."""
        inputs = self._encode(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k} \
            if temperature > 0 else {"do_sample": False}
        with self._lock, self._torch.no_grad():
            self._torch.manual_seed(seed)
            out = self.model.generate(**inputs, max_new_tokens=max_tokens,
                                      pad_token_id=self.tokenizer.eos_token_id, **sampling)
        new = out[0, prompt_len:]
        return {"text": self.tokenizer.decode(new, skip_special_tokens=True).strip(),
                "prompt_tokens": prompt_len, "completion_tokens": int(new.shape[0])}


