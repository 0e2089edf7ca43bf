/**
 * The subset of the ONNX protobuf schema (onnx/onnx.proto, IR version ≤ 10) that the
 * graph rewrite reads and writes, written from the IR spec's field numbers. The rewrite
 * never re-encodes a whole ModelProto or GraphProto with this schema: it splits them
 * into raw fields and re-encodes only the nodes it changes (see rewrite.ts), so fields
 * this schema does not know survive untouched.
 */
import protobuf from 'protobufjs';

const ONNX_SUBSET_PROTO = `
syntax = "proto2";
package shiftbench_onnx;

message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }

message AttributeProto {
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional int32 type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  optional string overload = 8;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  repeated StringStringEntryProto metadata_props = 9;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; optional string denotation = 3; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  optional Tensor tensor_type = 1;
  optional string denotation = 6;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

const root = protobuf.parse(ONNX_SUBSET_PROTO, { keepCase: true }).root;

export const ModelProto = root.lookupType('shiftbench_onnx.ModelProto');
export const GraphProto = root.lookupType('shiftbench_onnx.GraphProto');
export const NodeProto = root.lookupType('shiftbench_onnx.NodeProto');
export const TensorProto = root.lookupType('shiftbench_onnx.TensorProto');
export const ValueInfoProto = root.lookupType('shiftbench_onnx.ValueInfoProto');
export const OperatorSetIdProto = root.lookupType('shiftbench_onnx.OperatorSetIdProto');

/** AttributeProto.AttributeType values used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** Field numbers of the raw-level surgery. */
export const FIELD = {
  MODEL_OPSET: 8,
  MODEL_GRAPH: 7,
  GRAPH_NODE: 1,
  GRAPH_INITIALIZER: 5,
  GRAPH_INPUT: 11,
  GRAPH_OUTPUT: 12,
  GRAPH_VALUE_INFO: 13,
} as const;

// Plain-object shapes of the decoded messages (protobufjs toObject with longs as numbers, bytes as Uint8Array).
export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  [other: string]: unknown;
}
export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute: OnnxAttribute[];
  [other: string]: unknown;
}
export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
}
export interface OnnxValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } };
}

export const TO_OBJECT = { longs: Number, defaults: false, arrays: true } as const;
