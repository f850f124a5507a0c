"""ONNX graph helpers shared by the exporter (tools/export) and the fixture builders (tools/reference).

The TorchScript exporter with dynamic axes (and at opset 18 for antialiased bicubic resizing, which
DINOv2 with registers does), the merged decoder behind `use_cache_branch`, and the weight variants
hub exports carry under suffixed names (`_fp16`, `_quantized`, `_int8`, `_uint8`).
tools/reference/onnx_export.py re-exports the common ones for the fixture builders;
tools/reference/dinov2_tiny.py imports export_antialiased from here.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import onnx.numpy_helper
import torch

OPSET = 17
# Resize has antialias from opset 18 on: the opset of graphs that resize antialiased.
ANTIALIAS_OPSET = 18
# Protocol buffers cannot hold more than 2 GiB; graphs whose weights come near it keep their
# weights in `<name>.onnx_data` beside the graph, as hub exports over 2 GB do.
PROTOBUF_LIMIT = 2**31
EXTERNAL_DATA_THRESHOLD = int(PROTOBUF_LIMIT * 0.9)


def save(model: onnx.ModelProto, path: Path, external_data: bool) -> None:
    """Saves a graph, its weights in `<name>_data` beside it when asked; checks the saved file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "_data")):
        stale.unlink(missing_ok=True)
    if external_data:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + "_data", size_threshold=1024)
    else:
        onnx.save_model(model, str(path))
    onnx.checker.check_model(str(path))


def export(module: torch.nn.Module, args: tuple, path: Path, input_names, output_names, dynamic_axes,
           external_data: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), args, str(path),
            input_names=list(input_names), output_names=list(output_names),
            dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    model = onnx.load(str(path))
    if external_data:
        # Large exports keep weights beside the graph, as hub exports over 2 GB must.
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + "_data", size_threshold=1024)
    onnx.checker.check_model(str(path))


def resize_antialiased(g, input, output_size, align_corners, scales_h=None, scales_w=None):
    """aten::_upsample_bicubic2d_aa (bicubic with antialias, as Dinov2WithRegisters interpolates its
    position embeddings) as ONNX Resize-18: antialias, cubic a = -0.5 and weights renormalised
    inside the image (exclude_outside), which is what PyTorch's antialiased bicubic computes."""
    from torch.onnx import symbolic_helper

    sizes = symbolic_helper._maybe_get_const(output_size, "is")
    if not symbolic_helper._is_value(sizes):
        sizes = g.op("Constant", value_t=torch.tensor(sizes, dtype=torch.int64))
    leading = g.op("Slice", g.op("Shape", input), g.op("Constant", value_t=torch.tensor([0])),
                   g.op("Constant", value_t=torch.tensor([2])))
    full = g.op("Concat", leading, g.op("Cast", sizes, to_i=7), axis_i=0)
    empty = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
    return g.op("Resize", input, empty, empty, full, mode_s="cubic", cubic_coeff_a_f=-0.5, antialias_i=1,
                exclude_outside_i=1, coordinate_transformation_mode_s="half_pixel")


def export_antialiased(module: torch.nn.Module, args: tuple, path: Path, input_names, output_names, dynamic_axes,
                       external_data: bool = False) -> None:
    """The TorchScript export at opset 18: opset 17's Resize has no antialias, and the TorchScript
    exporter has no symbolic for the antialiased bicubic; ours is registered for this export."""
    torch.onnx.register_custom_op_symbolic("aten::_upsample_bicubic2d_aa", resize_antialiased, ANTIALIAS_OPSET)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), input_names=list(input_names), output_names=list(output_names),
                          dynamic_axes=dynamic_axes, opset_version=ANTIALIAS_OPSET, do_constant_folding=True, dynamo=False)
    if external_data:
        onnx.save_model(onnx.load(str(path)), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + "_data", size_threshold=1024)
    onnx.checker.check_model(str(path))


def has_op(path: Path, op_type: str) -> bool:
    """Whether the graph (or any subgraph of it) uses `op_type`; weights are not loaded."""
    def walk(graph) -> bool:
        for node in graph.node:
            if node.op_type == op_type:
                return True
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH and walk(attr.g):
                    return True
        return False

    return walk(onnx.load(str(path), load_external_data=False).graph)


def quantize_dynamic_int8(source: Path, target: Path, weight_type: str = "uint8", subgraphs: bool = False,
                          external_data: bool = False) -> None:
    """Dynamic int8 quantisation of the MatMul/Gemm weights (activations quantised at run time).

    `subgraphs` also quantises the branches of If nodes (the merged decoder keeps its MatMuls there).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target),
                     weight_type={"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}[weight_type],
                     use_external_data_format=external_data,
                     extra_options={"EnableSubgraph": True} if subgraphs else None)


def merge_decoders(no_past_path: Path, with_past_path: Path, target: Path, branch_input: str = "use_cache_branch",
                   external_data: bool = False) -> None:
    """One decoder graph that holds both decoders behind an If on `use_cache_branch`.

    This is the layout of `decoder_model_merged.onnx` in hub exports: the first step runs the
    no-past branch (past inputs are fed empty), later steps the with-past branch. Weights are
    shared by value, so the merged file is about the size of one decoder.
    """
    from onnx import TensorProto, helper, numpy_helper

    no_past = onnx.load(str(no_past_path))
    with_past = onnx.load(str(with_past_path))
    if [o.name for o in no_past.graph.output] != [o.name for o in with_past.graph.output]:
        raise ValueError("both decoders must have the same outputs in the same order")

    shared: dict[tuple, str] = {}
    initializers = []

    def hoist(graph, prefix: str) -> dict[str, str]:
        """Moves the graph's initializers to the outer graph, deduplicated by value."""
        renames = {}
        for init in graph.initializer:
            array = numpy_helper.to_array(init)
            key = (init.data_type, tuple(init.dims), array.tobytes())
            if key not in shared:
                name = f"shared_{len(shared)}"
                shared[key] = name
                tensor = numpy_helper.from_array(array, name)
                initializers.append(tensor)
            renames[init.name] = shared[key]
        del graph.initializer[:]
        return renames

    def branch(model, prefix: str) -> onnx.GraphProto:
        graph = model.graph
        renames = hoist(graph, prefix)
        outer_inputs = {i.name for i in graph.input}
        for node in graph.node:
            for k, name in enumerate(node.input):
                if name in renames:
                    node.input[k] = renames[name]
                elif name and name not in outer_inputs:
                    node.input[k] = prefix + name
            for k, name in enumerate(node.output):
                node.output[k] = prefix + name
            if node.name:
                node.name = prefix + node.name
        outputs = []
        for out in graph.output:
            source = out.name if out.name in outer_inputs else prefix + out.name
            identity_out = prefix + "out_" + out.name
            graph.node.append(helper.make_node("Identity", [source], [identity_out], name=identity_out))
            value = helper.make_tensor_value_info(identity_out, out.type.tensor_type.elem_type, None)
            outputs.append(value)
        return helper.make_graph(list(graph.node), prefix.strip("/") + "_branch", [], outputs)

    then_graph = branch(with_past, "with_past/")
    else_graph = branch(no_past, "no_past/")

    inputs = list(with_past.graph.input)
    names = {i.name for i in inputs}
    inputs += [i for i in no_past.graph.input if i.name not in names]
    inputs.append(helper.make_tensor_value_info(branch_input, TensorProto.BOOL, [1]))
    outputs = list(with_past.graph.output)
    cond = helper.make_node("Squeeze", [branch_input], ["use_cache_branch_scalar"], name="squeeze_branch")
    if_node = helper.make_node(
        "If", ["use_cache_branch_scalar"], [o.name for o in outputs], name="optional_past",
        then_branch=then_graph, else_branch=else_graph,
    )
    graph = helper.make_graph([cond, if_node], "merged_decoder", inputs, outputs, initializer=initializers)
    merged = helper.make_model(graph, opset_imports=with_past.opset_import, producer_name="emb-reference")
    merged.ir_version = with_past.ir_version
    if external_data:
        onnx.save_model(merged, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=target.name + "_data", size_threshold=1024)
        onnx.checker.check_model(str(target))
    else:
        onnx.checker.check_model(merged)
        onnx.save_model(merged, str(target))


def weight_bytes(graph: onnx.GraphProto) -> int:
    """Bytes of the weights a graph (and its subgraphs) holds in the file."""
    total = sum(len(t.raw_data) or onnx.numpy_helper.to_array(t).nbytes for t in graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                total += weight_bytes(attr.g)
    return total


def _casts_to_float16(graph: onnx.GraphProto, kept: frozenset = frozenset()) -> None:
    """Retypes the exporter's Cast-to-float nodes to float16; `kept` names the converter's own casts
    around the ops it leaves in float32 (Resize, ...), which must stay."""
    for node in graph.node:
        if node.op_type == "Cast" and node.name not in kept:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == onnx.TensorProto.FLOAT:
                    attr.i = onnx.TensorProto.FLOAT16
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _casts_to_float16(attr.g, kept)


def _prepare_resize_for_float16(model: onnx.ModelProto) -> None:
    """Two rewrites, equal in meaning, so the converter's handling of the Resize it keeps in float32
    (DINOv2's position-embedding resize) gives a valid graph: Resize's empty `roi`/`scales`
    constants become omitted inputs (cast, they would no longer read as absent), and Cast-to-float
    nodes right after a Resize whose output is float already (the exporter's `.to(dtype)`) are
    dropped (the converter pairs them with its own cast after the Resize, removes both and joins
    the float32 Resize output to a float16 consumer)."""
    graph = model.graph
    producers = {o: n for n in graph.node for o in n.output}
    for node in graph.node:
        if node.op_type != "Resize":
            continue
        for k in (1, 2):
            if k < len(node.input) and node.input[k] in producers:
                const = producers[node.input[k]]
                if const.op_type == "Constant" and onnx.numpy_helper.to_array(const.attribute[0].t).size == 0:
                    node.input[k] = ""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in list(inferred.graph.value_info) + list(graph.input)}
    outputs = {o.name for o in graph.output}
    renames, dropped = {}, []
    for node in graph.node:
        if (node.op_type == "Cast" and node.attribute[0].i == onnx.TensorProto.FLOAT
                and types.get(node.input[0]) == onnx.TensorProto.FLOAT and node.output[0] not in outputs
                and getattr(producers.get(node.input[0]), "op_type", None) == "Resize"):
            renames[node.output[0]] = renames.get(node.input[0], node.input[0])
            dropped.append(node)
    for node in dropped:
        graph.node.remove(node)
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in renames:
                node.input[k] = renames[name]


def _cast_names(graph: onnx.GraphProto) -> set[str]:
    names = set()
    for node in graph.node:
        if node.op_type == "Cast":
            names.add(node.name)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                names |= _cast_names(attr.g)
    return names


def convert_float16(source: Path, target: Path, external_data: bool | None = None) -> None:
    """The `_fp16` variant hub exports carry: float16 weights, inputs and outputs.

    `external_data` None keeps the weights in the graph file unless they come near the 2 GiB limit.
    """
    from onnxconverter_common import float16

    original = onnx.load(str(source))
    if any(node.op_type == "Resize" for node in original.graph.node):
        _prepare_resize_for_float16(original)
    exported_casts = _cast_names(original.graph)
    model = float16.convert_float_to_float16(original, keep_io_types=False)
    # The converter leaves the exporter's Cast-to-float nodes as they are, so their outputs
    # contradict the float16 graph around them; in an all-float16 graph they cast to float16.
    # If-branches (the merged decoder) hold such casts too. The casts the converter adds itself
    # (to float32 before an op it keeps in float32, such as DINOv2's position-embedding Resize)
    # stay as they are.
    _casts_to_float16(model.graph, frozenset(_cast_names(model.graph) - exported_casts))
    if external_data is None:
        external_data = weight_bytes(model.graph) > EXTERNAL_DATA_THRESHOLD
    if external_data:
        save(model, target, external_data=True)
    else:
        onnx.checker.check_model(model)
        onnx.save_model(model, str(target))
