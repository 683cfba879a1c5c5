"""neon's sequence-to-sequence container ``Seq2Seq`` with its ``Encoder`` and ``Decoder``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from ..backends.backend import current_backend
from ..errors import LayerConfigError, UnsupportedNeonFeature
from ..registry import neon_type
from ._base import Layer
from .container import LayerContainer, Sequential, _layer_list
from .lookup_table import LookupTable
from .recurrent._base import RecurrentBase
from .recurrent.gru import GRU
from .recurrent.lstm import LSTM

__all__ = ["Decoder", "Encoder", "Seq2Seq"]


@neon_type("neon.layers.container.Encoder", "neon.layers.Encoder")
class Encoder(Sequential):
    """The encoder stack of a :class:`Seq2Seq`: a ``Sequential`` whose recurrent layers hand
    their last hidden state to the decoder's recurrent layers."""

    def __init__(self, layers: Any, name: str | None = None) -> None:
        super().__init__(layers, name)
        self._recurrent = [layer for layer in self.layers if isinstance(layer, RecurrentBase)]


@neon_type("neon.layers.container.Decoder", "neon.layers.Decoder")
class Decoder(Sequential):
    """The decoder stack of a :class:`Seq2Seq`: its recurrent layers start from the states
    given by the encoder. ``start_index`` is kept for neon's beam search (None: an all-zero
    first input)."""

    def __init__(self, layers: Any, name: str | None = None, start_index: Any = None) -> None:
        super().__init__(layers, name)
        self._recurrent = [layer for layer in self.layers if isinstance(layer, RecurrentBase)]
        self.start_index = start_index

    def run(self, z: Tensor, init_states: Sequence[Tensor | None]) -> Tensor:
        """The decoder on ``z`` ``(N, T, F)``, recurrent layer ``i`` starting from
        ``init_states[i]`` (None: its own rule, zeros with ``reset_cells``)."""
        states = iter(init_states)
        for layer in self.layers:
            if isinstance(layer, RecurrentBase):
                layer.init_state = next(states)
            z = layer(z)
        return z


def _container(part: Any, cls: type) -> Any:
    if isinstance(part, cls):
        return part
    if isinstance(part, (list, tuple)):
        return cls(list(part))
    if isinstance(part, Layer):
        return cls([part])
    raise LayerConfigError(
        f"Seq2Seq: the encoder and decoder must be {cls.__name__}s, lists of layers or layers, "
        f"got {type(part).__name__}."
    )


@neon_type("neon.layers.container.Seq2Seq", "neon.layers.Seq2Seq")
class Seq2Seq(LayerContainer):
    """An encoder and a decoder: the decoder's recurrent layers start from the encoder's final
    hidden states.

    neon semantics:

    * ``layers = [encoder, decoder]``, each an :class:`Encoder`/:class:`Decoder`, a list of
      layers or one layer; ``layers`` of the container is the encoder's layers then the
      decoder's (the order of ``.prm`` files, with ``num_encoder_layers`` and
      ``decoder_connections`` in the config);
    * a description (``.prm``) stores ``layers`` as one list with ``num_encoder_layers``;
      passing ``num_encoder_layers`` splits a flat ``layers`` list that way (neon's
      ``gen_class``);
    * ``decoder_connections[i]`` is the index (among the encoder's recurrent layers) whose last
      hidden state starts decoder recurrent layer ``i``, or None; default one-to-one;
    * training: the input is ``(x, z)`` (``Text(get_prev_target=True)``): the encoder reads
      ``x``, the decoder reads ``z`` (the targets one step late);
    * inference: the input is ``x`` alone; the decoder runs one step at a time for the
      configured number of steps from an all-zero first input, each output fed back as the
      next input and each step starting from the decoder's states of the previous step; a
      decoder starting with a ``LookupTable`` is fed token ids instead: id 0 first, then the
      argmax of each output (first maximum wins);
    * backward: the decoder's error on its initial state reaches the encoder only through the
      encoder's last layer (when it is recurrent): neon adds those errors to the last layer's
      output error, so a connection from a lower recurrent layer sends no error back.

    Shape:
        training input ``((N, T, F), (N, T', F'))``, inference input ``(N, T, F)``; output
        ``(N, T', nout)`` (token-id inputs: ``(N, 1, T)``). The configured shape is a
        dataset (its ``shape`` for the encoder, its ``decoder_shape`` for the decoder, as in
        neon), one shape for both stacks, or neon's 4-tuple ``(F, T, F', T')`` (what a
        ``.prm`` stores as ``train_input_shape``);
        ``configured_shape`` is the 4-tuple in use (a model loaded from a neon file that
        recorded a one-step decoder is configured again from the data, as neon does).
    """

    def __init__(
        self,
        layers: Any,
        decoder_connections: Any = None,
        name: str | None = None,
        num_encoder_layers: int | None = None,
    ) -> None:
        super().__init__(name)
        if num_encoder_layers is not None:  # a stored description: one flat list of layers
            layers = [list(layers[:num_encoder_layers]), list(layers[num_encoder_layers:])]
        if not isinstance(layers, (list, tuple)) or len(layers) != 2:
            raise LayerConfigError("Seq2Seq: layers must be a list [encoder, decoder].")
        encoder = _container(layers[0], Encoder)
        decoder = _container(layers[1], Decoder)
        self.__dict__["encoder"] = encoder  # the children are registered once, in ``layers``
        self.__dict__["decoder"] = decoder
        self.layers = _layer_list([*encoder.layers, *decoder.layers])
        self.num_encoder_layers = len(encoder.layers)
        if decoder_connections:
            self.decoder_connections = list(decoder_connections)
        else:
            if len(encoder._recurrent) != len(decoder._recurrent):
                raise LayerConfigError(
                    f"Seq2Seq: {len(encoder._recurrent)} encoder and "
                    f"{len(decoder._recurrent)} decoder recurrent layers; pass "
                    "decoder_connections to pair them."
                )
            self.decoder_connections = list(range(len(encoder._recurrent)))
        for layer in decoder._recurrent:
            if type(layer) not in (GRU, LSTM):
                raise UnsupportedNeonFeature(
                    f"Seq2Seq: decoder layer {layer.name!r} is a {type(layer).__name__}; only "
                    "GRU and LSTM decoders take an initial state here."
                )

    def configure(self, in_obj: Any) -> Seq2Seq:
        shape = getattr(in_obj, "shape", in_obj)
        decoder_shape = getattr(in_obj, "decoder_shape", None)
        if isinstance(shape, tuple) and len(shape) == 4:
            shape, decoder_shape = shape[:2], shape[2:]
        decoder_shape = decoder_shape if decoder_shape is not None else shape
        self.encoder.configure(shape)
        self.decoder.configure(decoder_shape)
        self.configured_shape = (*self.encoder.in_shape, *self.decoder.in_shape)
        self.in_shape = self.encoder.in_shape
        self.out_shape = self.decoder.out_shape
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        self.decoder.allocate()
        self.encoder.allocate()

    def _init_states(self, encoded: Tensor) -> list[Tensor | None]:
        last = self.encoder.layers[-1]
        states: list[Tensor | None] = []
        for i in self.decoder_connections:
            if i is None:
                states.append(None)
                continue
            layer = self.encoder._recurrent[i]
            states.append(encoded[:, -1] if layer is last else layer._state[0])
        return states

    def encode(self, x: Tensor) -> list[Tensor | None]:
        """Run the encoder on ``x``; the decoder's initial states (``decoder_connections``)."""
        return self._init_states(self.encoder(x))

    @contextmanager
    def one_step(self) -> Iterator[None]:
        """Within: the decoder's recurrent layers take one step per call, and a leading
        ``LookupTable`` reads one token id per sample (neon's
        ``Decoder.switch_mode(inference=True)``)."""
        recurrent = self.decoder._recurrent
        full = [layer.nsteps for layer in recurrent]
        table = self.decoder.layers[0] if self.reads_token_ids else None
        table_nin = table.nin if table is not None else None
        try:
            for layer in recurrent:
                layer.nsteps = 1
            if table is not None:
                table.nin = 1
            yield
        finally:
            for layer, n in zip(recurrent, full, strict=True):
                layer.nsteps = n
            if table is not None:
                table.nin = table_nin

    @property
    def reads_token_ids(self) -> bool:
        """Whether the decoder starts with a ``LookupTable``: inference then feeds it token
        ids (0 first, then the argmax of each output), else one-hot vectors (zeros first)."""
        return isinstance(self.decoder.layers[0], LookupTable)

    def start_input(self, like: Tensor) -> Tensor:
        """The decoder's first one-step input for ``like.shape[0]`` samples: token id 0
        ``(N, 1)`` for a ``LookupTable`` decoder, else an all-zero ``(N, 1, F')``."""
        if self.reads_token_ids:
            return torch.zeros(like.shape[0], 1, dtype=torch.long, device=like.device)
        dtype = like.dtype if like.is_floating_point() else current_backend().torch_dtype
        return torch.zeros(
            like.shape[0], 1, self.decoder.in_shape[0], dtype=dtype, device=like.device
        )

    def feed_back(self, tokens: Tensor, dtype: torch.dtype) -> Tensor:
        """The next one-step input for chosen ``tokens`` ``(N,)``: the ids themselves
        ``(N, 1)`` for a ``LookupTable`` decoder, else their one-hot ``(N, 1, nout)``."""
        if self.reads_token_ids:
            return tokens.reshape(-1, 1)
        nout = self.decoder.out_shape[0]
        return torch.nn.functional.one_hot(tokens, nout).to(dtype).unsqueeze(1)

    def decoder_states(self) -> list[Tensor]:
        """The last hidden state ``(N, nout)`` of each decoder recurrent layer."""
        return [layer._state[0] for layer in self.decoder._recurrent]

    def forward(self, x: Any) -> Tensor:
        if isinstance(x, (tuple, list)):
            source, z = x
            return self.decoder.run(z, self.encode(source))
        states: Sequence[Tensor | None] = self.encode(x)
        z = self.start_input(x)
        outputs = []
        with self.one_step():
            for _ in range(self.decoder.out_shape[1]):
                y = self.decoder.run(z, states)
                states = self.decoder_states()
                outputs.append(y)
                z = y.argmax(-1) if self.reads_token_ids else y
        return torch.cat(outputs, dim=1)

    def to_torch(self) -> nn.Module:
        """Not provided: neon's inference loop (outputs fed back one step at a time, states
        handed from the encoder) has no plain-torch module here; always raises."""
        raise UnsupportedNeonFeature(
            f"Seq2Seq {self.name!r}: no plain-torch conversion (its inference feeds each output "
            "back as the next input); use model.get_outputs or the encoder/decoder layers' own "
            "to_torch()."
        )
