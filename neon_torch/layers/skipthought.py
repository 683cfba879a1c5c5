"""neon's skip-thought container ``SkipThought``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call

from ..errors import LayerConfigError, UnsupportedNeonFeature
from ..registry import lookup, neon_type, type_string
from .compound import Affine
from .container import Sequential
from .lookup_table import LookupTable
from .recurrent._base import RecurrentBase
from .recurrent.gru import GRU
from .recurrent.lstm import LSTM

__all__ = ["SkipThought"]

_NUM_LAYERS = 12


class _MeanGrad(torch.autograd.Function):
    """Passes its tensors through unchanged; backward gives each of them the mean of their
    gradients (neon's dW syncing of tied layers)."""

    @staticmethod
    def forward(ctx: Any, *tensors: Tensor) -> tuple[Tensor, ...]:
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        present = [g for g in grads if g is not None]
        mean = torch.stack(present).sum(0) / len(grads)
        return (mean,) * len(grads)


def _rec_layer_class(rec_layer: Any) -> type[GRU] | type[LSTM]:
    """The recurrent class from a class (neon's argument) or its neon type string (what a
    stored description holds)."""
    cls = lookup(rec_layer) if isinstance(rec_layer, str) else rec_layer
    if cls not in (GRU, LSTM):
        raise LayerConfigError(
            f"SkipThought: rec_layer={rec_layer!r}; expected GRU or LSTM (the class, or "
            "'neon.layers.recurrent.GRU' / 'neon.layers.recurrent.LSTM')."
        )
    return cls


@neon_type("neon.layers.container.SkipThought", "neon.layers.SkipThought")
class SkipThought(Sequential):
    """A skip-thought model: the middle sentence of a triple is encoded, and two decoders
    started from that code predict the previous and the next sentence.

    neon semantics:

    * ``layers`` (12, the order of descriptions and ``.prm`` files): three ``LookupTable``
      (source, previous, next; each ``pad_idx=0`` and drawn separately from ``init_embed``),
      the encoder and the two decoders (``rec_layer(nhidden, init=init_ff,
      init_inner=init_rec, activation=activ_rec, gate_activation=activ_rec_gate,
      reset_cells=True)``), then ``Affine(vocab_size, init=init_ff, bias=init_const,
      activation=Softmax())`` for the previous and for the next sentence (Linear, Bias,
      Activation each). Passing ``layers`` (12 of them, as a stored description does) uses
      those instead of building new ones;
    * the input is ``[source, previous, next]`` token ids; the encoder's output at the last
      step is the initial state of both decoders (their gradient on it flows back into the
      encoder); the output is ``[previous-sentence softmax, next-sentence softmax]``;
    * tied weights: at allocation the previous-sentence Linear gets a copy of the
      next-sentence Linear's weights (the embeddings keep their three separate draws);
      each backward pass replaces the gradients of the three embeddings by their mean, and
      those of the two Linears (and of the two Biases) by theirs;
    * ``layer_dict`` names ``lookupTable``, ``encoder``, ``decoder_previous``,
      ``decoder_next`` and ``affine`` (the previous-sentence Affine parts), as neon's
      ``Model`` exposes them for inference scripts.

    Shape:
        input three ``(N, T)`` id batches (``(N, 1, T)`` also); output two
        ``(N, T, vocab_size)`` tensors. ``in_shape`` is a list of the three input shapes and
        ``out_shape`` the list of the two output shapes.
    """

    # stored as neon's type string (neon pickles the class itself)
    _config_attrs = {"rec_layer": "rec_layer_type"}  # noqa: RUF012

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        init_embed: Any,
        nhidden: int,
        rec_layer: Any,
        init_rec: Any,
        activ_rec: Any,
        activ_rec_gate: Any,
        init_ff: Any,
        init_const: Any,
        layers: Any = None,
        name: str | None = None,
    ) -> None:
        rec_cls = _rec_layer_class(rec_layer)
        if layers is None:
            layers = [
                LookupTable(vocab_size, embed_dim, init=init_embed, pad_idx=0) for _ in range(3)
            ]
            layers += [
                rec_cls(
                    nhidden,
                    init=init_ff,
                    init_inner=init_rec,
                    activation=activ_rec,
                    gate_activation=activ_rec_gate,
                    reset_cells=True,
                )
                for _ in range(3)
            ]
            from ..transforms import Softmax

            for _ in range(2):
                layers += Affine(vocab_size, init=init_ff, bias=init_const, activation=Softmax())
        super().__init__(layers, name)
        if len(self.layers) != _NUM_LAYERS:
            raise LayerConfigError(
                f"SkipThought: {len(self.layers)} layers given; expected {_NUM_LAYERS} (three "
                "LookupTables, encoder, two decoders, two Affines of Linear, Bias, Activation)."
            )
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.init_embed = init_embed
        self.nhidden = nhidden
        self.rec_layer = rec_cls
        self.rec_layer_type = type_string(rec_cls)
        self.init_rec = init_rec
        self.activ_rec = activ_rec
        self.activ_rec_gate = activ_rec_gate
        self.init_ff = init_ff
        self.init_const = init_const
        embeds, recs = self.layers[0:3], self.layers[3:6]
        for layer in embeds:
            if not isinstance(layer, LookupTable):
                raise LayerConfigError(
                    f"SkipThought: layer {layer.name!r} is a {type(layer).__name__}; the first "
                    "three layers must be LookupTables."
                )
        for layer in recs:
            if type(layer) not in (GRU, LSTM):
                raise LayerConfigError(
                    f"SkipThought: layer {layer.name!r} is a {type(layer).__name__}; layers "
                    "3-5 must be GRU or LSTM (encoder, previous and next decoders)."
                )
        self.layer_dict = {
            "lookupTable": self.layers[0],
            "encoder": self.layers[3],
            "decoder_previous": self.layers[4],
            "decoder_next": self.layers[5],
            "affine": list(self.layers[6:9]),
        }

    @property
    def embeddings(self) -> list[LookupTable]:
        """The source, previous and next ``LookupTable``."""
        return list(self.layers[0:3])  # type: ignore[arg-type]

    @property
    def encoder(self) -> RecurrentBase:
        """The recurrent layer reading the source sentence."""
        return self.layers[3]  # type: ignore[return-value]

    @property
    def decoders(self) -> list[RecurrentBase]:
        """The previous- and next-sentence recurrent decoders."""
        return list(self.layers[4:6])  # type: ignore[arg-type]

    @property
    def heads(self) -> list[list[Any]]:
        """The ``[Linear, Bias, Activation]`` output parts, previous then next sentence."""
        return [list(self.layers[6:9]), list(self.layers[9:12])]

    def configure(self, in_obj: Any) -> SkipThought:
        shapes = getattr(in_obj, "shape", in_obj)
        if not isinstance(shapes, (list, tuple)) or len(shapes) != 3:
            raise LayerConfigError(
                f"SkipThought: input shape {shapes!r}; expected a list of three shapes "
                "(source, previous, next sentence), as SentenceHomogenous gives."
            )
        shapes = list(shapes)
        self.in_shape = shapes  # type: ignore[assignment]  # one shape per sentence stream
        self.encoder.configure(self.embeddings[0].configure(shapes[0]))
        outs = []
        for embed, decoder, head, shape in zip(
            self.embeddings[1:], self.decoders, self.heads, shapes[1:], strict=True
        ):
            prev: Any = decoder.configure(embed.configure(shape))
            for layer in head:
                prev = layer.configure(prev)
            outs.append(prev.out_shape)
        self.out_shape = outs  # type: ignore[assignment]  # one shape per decoder
        self._delta_memory = None
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        fresh = not self.heads[0][0]._allocated
        super().allocate()
        if fresh:  # neon draws both Linears, then ties them
            with torch.no_grad():
                self.heads[0][0].weight.copy_(self.heads[1][0].weight)

    def forward(self, x: Any) -> list[Tensor]:  # type: ignore[override]  # one output per decoder
        if not isinstance(x, (list, tuple)) or len(x) != 3:
            raise LayerConfigError(
                f"SkipThought {self.name!r}: expected [source, previous, next] id batches, got "
                f"{type(x).__name__}."
            )
        embeds = self.embeddings
        tables = _MeanGrad.apply(*(e.weight for e in embeds))
        (lin_p, bias_p, act_p), (lin_n, bias_n, act_n) = self.heads
        w_p, w_n = _MeanGrad.apply(lin_p.weight, lin_n.weight)
        b_p, b_n = _MeanGrad.apply(bias_p.bias, bias_n.bias)

        def embed(i: int) -> Tensor:
            return functional_call(embeds[i], {"weight": tables[i]}, (x[i],))

        context = self.encoder(embed(0))[:, -1]
        outputs = []
        for i, decoder, (lin, w), (bias, b), act in (
            (1, self.decoders[0], (lin_p, w_p), (bias_p, b_p), act_p),
            (2, self.decoders[1], (lin_n, w_n), (bias_n, b_n), act_n),
        ):
            decoder.init_state = context
            h = decoder(embed(i))
            h = functional_call(lin, {"weight": w}, (h,))
            h = functional_call(bias, {"bias": b}, (h,))
            outputs.append(act(h))
        return outputs

    def to_torch(self) -> Any:
        """Not provided: the decoders start from the encoder's last state, which neon_torch's
        plain recurrent modules do not take; always raises."""
        raise UnsupportedNeonFeature(
            f"SkipThought {self.name!r}: no plain-torch conversion of the three-stream model "
            "(its decoders start from the encoder's state); convert the parts instead, e.g. "
            "layer_dict['lookupTable'].to_torch() and layer_dict['encoder'].to_torch() for "
            "the sentence encoder."
        )
