"""Datasets for experiments: built-in ones, CSV, Parquet, NPZ and .npy files, splits and
preprocessing.

`load_data(data_config, seed)` turns an experiment's `data:` mapping into a `DataSplits`;
`DATASETS` lists the built-in datasets; the `Preprocessor` travels with a saved model.
Importing this package loads no data and imports neither scikit-learn, numba nor pyarrow.
"""

from nnx.data.builtin import DATASETS, dataset_options, describe_datasets
from nnx.data.loader import DataSplits, load_data, reads_on_all_cores
from nnx.data.mapped import MappedRows
from nnx.data.preprocessing import Preprocessor
from nnx.data.validate import check_data_config

__all__ = ["DATASETS", "DataSplits", "MappedRows", "Preprocessor", "check_data_config",
           "dataset_options", "describe_datasets", "load_data", "reads_on_all_cores"]
