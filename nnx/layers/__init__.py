"""Layers and their registry: the YAML `type` of a layer is the snake_case of its class."""

from nnx.layers.activation import Activation
from nnx.layers.attention import MultiHeadAttention
from nnx.layers.base import Layer, snake_case
from nnx.layers.batch_norm import BatchNormalization
from nnx.layers.bidirectional import Bidirectional
from nnx.layers.conv import Conv1D, Conv2D
from nnx.layers.dense import Dense
from nnx.layers.dropout import Dropout
from nnx.layers.embedding import Embedding
from nnx.layers.flatten import Flatten
from nnx.layers.layer_norm import LayerNormalization
from nnx.layers.merge import Add, Concatenate, Multiply
from nnx.layers.noise import GaussianNoise
from nnx.layers.pooling import (
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    MaxPool1D,
    MaxPool2D,
)
from nnx.layers.positional import PositionalEmbedding, PositionalEncoding
from nnx.layers.recurrent import GRU, LSTM, SimpleRNN
from nnx.layers.sequence_pooling import SequencePooling
from nnx.layers.transformer import TransformerEncoderBlock
from nnx.layers.upsampling import UpSampling2D
from nnx.registry import Registry

LAYERS = Registry("layer type", {snake_case(cls.__name__): cls for cls in (
    Dense, Activation, Dropout, Flatten,
    Conv1D, Conv2D, MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, BatchNormalization,
    SimpleRNN, LSTM, GRU, Bidirectional, Embedding,
    MultiHeadAttention, LayerNormalization, PositionalEncoding, PositionalEmbedding,
    SequencePooling, TransformerEncoderBlock,
    Add, Concatenate, Multiply, GaussianNoise, UpSampling2D,
)})


def from_config(spec):
    """A layer from `{type: NAME, ...constructor arguments}`."""
    return LAYERS.create(spec)


__all__ = ["LAYERS", "Layer", "Dense", "Activation", "Dropout", "Flatten",
           "Conv1D", "Conv2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "BatchNormalization",
           "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Embedding",
           "MultiHeadAttention", "LayerNormalization", "PositionalEncoding",
           "PositionalEmbedding", "SequencePooling", "TransformerEncoderBlock",
           "Add", "Concatenate", "Multiply", "GaussianNoise", "UpSampling2D", "from_config"]
