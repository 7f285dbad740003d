"""UpSampling2D: nearest-neighbour upsampling of channels-first images, the decoder's
counterpart of pooling: (N, C, H, W) -> (N, C, H*sh, W*sw); each value is copied into an
sh x sw block, and backward sums the block's gradients."""

from nnx.errors import NnxError
from nnx.layers.base import Layer, positive_int


class UpSampling2D(Layer):
    def __init__(self, size=2, name=None):
        super().__init__(name)
        if isinstance(size, (list, tuple)):
            if len(size) != 2:
                raise NnxError(f"up_sampling2d: size must be an integer or a pair, got {size!r}")
            self._size = tuple(positive_int("up_sampling2d", "size", s) for s in size)
            self.size = list(self._size)
        else:
            self.size = positive_int("up_sampling2d", "size", size)
            self._size = (self.size, self.size)

    def output_shape_for(self, input_shape):
        if len(input_shape) != 3:
            raise NnxError(f"layer {self.name!r} expects channels-first images (channels, "
                           f"height, width), got {tuple(input_shape)}")
        channels, height, width = input_shape
        return (channels, height * self._size[0], width * self._size[1])

    def forward(self, x, training=False):
        sh, sw = self._size
        return x.repeat(sh, axis=2).repeat(sw, axis=3)

    def backward(self, dy):
        sh, sw = self._size
        channels, height, width = self.input_shape
        return dy.reshape(dy.shape[0], channels, height, sh, width, sw).sum(axis=(3, 5))
