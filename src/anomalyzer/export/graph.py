"""A small builder of ONNX graphs: nodes with unique names, constants as initializers.

The converters of this package add their nodes through one :class:`GraphBuilder`,
so that names never clash between the preprocessing, the detector and the
threshold, and every constant is stored once in float64 (the precision the
native scoring path uses).

>>> b = GraphBuilder()
>>> x = b.input("x", "double")
>>> y = b.op("Mul", x, b.const(np.array(2.0)))
>>> b.output(y, "y", "double")
>>> model = b.model()
>>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
(['x'], ['y'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Opsets the exported graphs use: ONNX 21 and the ML domain 5 (``TreeEnsemble``,
#: ``LabelEncoder`` with float64 values), read by onnxruntime 1.18 and later.
OPSET = 21
ML_OPSET = 5
ML_DOMAIN = "ai.onnx.ml"

_TYPES = {
    "double": TensorProto.DOUBLE,
    "float": TensorProto.FLOAT,
    "int64": TensorProto.INT64,
    "string": TensorProto.STRING,
    "bool": TensorProto.BOOL,
}


class GraphBuilder:
    """Collects nodes, initializers, inputs and outputs of one graph."""

    def __init__(self, name: str = "anomalyzer") -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        """A name not used before in this graph."""
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, dtype: str, shape: list[Any] | None = None) -> str:
        """Declare a graph input (one dimension of unknown length by default)."""
        dims = [None] if shape is None else shape
        self.inputs.append(helper.make_tensor_value_info(name, _TYPES[dtype], dims))
        return name

    def output(self, value: str, name: str, dtype: str, shape: list[Any] | None = None) -> None:
        """Expose ``value`` as the graph output ``name``."""
        self.op("Identity", value, out=name)
        dims = [None] if shape is None else shape
        self.outputs.append(helper.make_tensor_value_info(name, _TYPES[dtype], dims))

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """A constant tensor (float64 unless the array says otherwise)."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype.kind == "f":
            array = array.astype(np.float64)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        name = self.fresh(hint)
        if array.dtype.kind in "OU":
            texts: list[Any] = [str(v).encode("utf-8") for v in array.ravel()]
            tensor = helper.make_tensor(name, TensorProto.STRING, list(array.shape), texts)
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.initializers.append(tensor)
        return name

    def op(
        self,
        op_type: str,
        *inputs: str,
        out: str | None = None,
        n_out: int = 1,
        domain: str = "",
        **attrs: Any,
    ) -> Any:
        """Add one node; returns its output name (or names, when ``n_out > 1``)."""
        outs = (
            [out or self.fresh(op_type.lower())]
            if n_out == 1
            else [self.fresh(op_type.lower()) for _ in range(n_out)]
        )
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), outs, name=self.fresh(f"n_{op_type}"), domain=domain, **attrs
            )
        )
        return outs[0] if n_out == 1 else outs

    # -- shorthands used by every converter ----------------------------------------

    def column(self, value: str) -> str:
        """A 1-D tensor ``[N]`` as a column ``[N, 1]``."""
        return self.op("Unsqueeze", value, self.const(np.array([1])))

    def flat(self, value: str) -> str:
        """A column ``[N, 1]`` (or any ``[N, ...]`` with one value per row) as ``[N]``."""
        return self.op("Reshape", value, self.const(np.array([-1])))

    def row_sum(self, value: str) -> str:
        """Sum over axis 1 of ``[N, k]``, as ``[N]``."""
        return self.op("ReduceSum", value, self.const(np.array([1])), keepdims=0)

    def splice(self, proto: onnx.ModelProto, feeds: dict[str, str], output: str) -> str:
        """Copy the nodes of another graph that ``output`` needs, its inputs wired to ``feeds``.

        Names get a fresh prefix, so that a graph can be spliced in more than once.
        """
        prefix = self.fresh("part") + "/"
        graph = proto.graph
        producer = {o: node for node in graph.node for o in node.output}
        needed, stack, keep = set(), [output], []
        while stack:
            name = stack.pop()
            node = producer.get(name)
            if node is None or id(node) in needed:
                continue
            needed.add(id(node))
            keep.append(node)
            stack.extend(node.input)

        def rename(name: str) -> str:
            return feeds.get(name, prefix + name) if name else name

        used = {i for node in keep for i in node.input}
        for tensor in graph.initializer:
            if tensor.name in used:
                copy = onnx.TensorProto()
                copy.CopyFrom(tensor)
                copy.name = rename(tensor.name)
                self.initializers.append(copy)
        # Nodes in the order of the source graph (a valid topological order).
        for node in graph.node:
            if id(node) in needed:
                copy = onnx.NodeProto()
                copy.CopyFrom(node)
                copy.name = prefix + node.name
                copy.input[:] = [rename(i) for i in node.input]
                copy.output[:] = [rename(o) for o in node.output]
                self.nodes.append(copy)
        return rename(output)

    def model(self, metadata: dict[str, str] | None = None) -> onnx.ModelProto:
        """The finished, checked model."""
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, initializer=self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[
                helper.make_opsetid("", OPSET),
                helper.make_opsetid(ML_DOMAIN, ML_OPSET),
            ],
            producer_name="anomalyzer",
        )
        # Current onnxruntime releases read IR version 10.
        model.ir_version = 10
        for key, value in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        return model
