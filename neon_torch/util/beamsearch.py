"""neon's beam search over the decoder of a trained :class:`~neon_torch.layers.Seq2Seq`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..backends.backend import NervanaObject

__all__ = ["BeamSearch"]


class BeamSearch(NervanaObject):
    """Beam search with neon 2.6's rules, for a ``Seq2Seq`` whose decoder outputs
    probabilities (its inputs one-hot vectors, or token ids for a ``LookupTable`` decoder).

    neon semantics, per minibatch and for every sample independently:

    * the encoder runs once; beam 0 starts from the encoder's states and an all-zero input
      (or a one-hot ``decoder.start_index``; token id 0 for a ``LookupTable`` decoder), the
      other beams from zero states;
    * at step 0 only beam 0 is expanded; afterwards every beam is. A beam's score is the sum of
      ``log`` of the probabilities of its tokens; the ``num_beams`` best (beam, token) pairs
      (ranked by numpy's ``argsort`` of the stacked scores, beam-major) become the new beams,
      each taking over its parent's history and decoder states, with the chosen token fed
      back (one-hot, or its id for a ``LookupTable`` decoder);
    * the result is the token history of the best beam, ``(steps, bsz)``.
    """

    def __init__(self, seq2seq: Any) -> None:
        super().__init__(name=None)
        self.layers = seq2seq

    def beamsearch(self, inputs: Any, num_beams: int = 5, steps: int | None = None) -> Any:
        """The best token sequence for the batch-first minibatch ``inputs``: a backend Tensor
        ``(steps, bsz)`` of token indices (``steps`` defaults to the decoder's length)."""
        seq = self.layers
        decoder = seq.decoder
        steps = decoder.out_shape[1] if steps is None else steps
        bsz = inputs.shape[0]
        nout = decoder.out_shape[0]
        start = seq.start_input(inputs)
        if getattr(decoder, "start_index", None) is not None and not seq.reads_token_ids:
            start[:, :, decoder.start_index] = 1
        with torch.no_grad():
            states = [seq.encode(inputs)]  # step 0 expands beam 0 only
            feeds = [start] * num_beams
            history = [np.zeros((steps, bsz)) for _ in range(num_beams)]
            scores = [np.zeros(bsz) for _ in range(num_beams)]
            live = 1
            with seq.one_step():
                for t in range(steps):
                    probs, new_states = [], []
                    for b in range(live):
                        z = decoder.run(feeds[b], states[b])
                        probs.append(z[:, 0].detach().cpu().numpy().T)  # (nout, bsz)
                        new_states.append(seq.decoder_states())
                    live = num_beams
                    ranked = [np.log(p) + s for p, s in zip(probs, scores, strict=False)]
                    best = np.vstack(ranked).argsort(axis=0)[-live:]  # (live, bsz)
                    parent, token = best // nout, best % nout
                    columns = np.arange(bsz)
                    old = np.stack(history)  # (beams, steps, bsz)
                    ranked_all = np.stack(ranked)  # (parents, nout, bsz)
                    stacked = [torch.stack(layer) for layer in zip(*new_states, strict=True)]
                    rows = torch.as_tensor(columns, device=inputs.device)
                    states = []
                    for b in range(live):
                        history[b] = old[parent[b], :, columns].T.copy()
                        history[b][t] = token[b]
                        scores[b] = ranked_all[parent[b], token[b], columns]
                        pick = torch.as_tensor(parent[b], device=inputs.device)
                        states.append([s[pick, rows] for s in stacked])
                    feeds = [
                        seq.feed_back(
                            torch.as_tensor(token[b], device=inputs.device),
                            start.dtype,
                        )
                        for b in range(live)
                    ]
        return self.be.array(history[-1])
