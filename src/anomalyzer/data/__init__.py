"""The data layer: read a table, give each column a role, turn it into numbers.

>>> import pandas as pd
>>> df = read_table(pd.DataFrame({"amount": [1.0, 2.0, 3.0], "kind": ["a", "b", "a"]}))
>>> infer_schema(df).features
['amount', 'kind']
>>> Preprocessor().fit_transform(df).shape
(3, 3)
"""

from anomalyzer.data.io import read_table
from anomalyzer.data.preprocess import Preprocessor
from anomalyzer.data.roles import ColumnInfo, Role, Schema, infer_schema

__all__ = ["ColumnInfo", "Preprocessor", "Role", "Schema", "infer_schema", "read_table"]
