// Using the edgerun C library from Swift: `import EdgerunRuntime` (module.modulemap, or the XCFramework made
// by build_xcframework.sh) gives the C API of edgerun_runtime.h as is. A thin class below turns statuses into
// Swift errors carrying the library's message and frees the model on deinit; the end shows a run.
//
// Not compiled where it was written (no Swift toolchain on that Linux machine): a usage example to adapt.
// The plan: `edgerun compile model.tflite --target ios-arm64 --format plan -o model.plan`, added to the app
// bundle as a resource.
import EdgerunRuntime
import Foundation

struct EdgerunError: Error, CustomStringConvertible {
  let status: edgerun_status
  let message: String
  var description: String { "edgerun (\(String(cString: edgerun_status_name(status)))): \(message)" }
}

struct TensorInfo {
  let name: String
  let type: Int32          // EDGERUN_FLOAT32, EDGERUN_INT8, ... (TFLite's TensorType codes)
  let shape: [Int32]
  let scale: Float         // 0 when not quantized
  let zeroPoint: Int32
  let bytes: Int
}

/// One model; use it from one thread at a time (separate models share nothing).
final class EdgerunModel {
  private let model: OpaquePointer  // edgerun_model *

  /// Opens a plan file (read whole into the model's memory).
  init(path: String) throws {
    var err = [CChar](repeating: 0, count: 512)
    var m: OpaquePointer?
    let st = edgerun_open_file(path, &m, &err, err.count)
    guard st == EDGERUN_OK, let opened = m else {
      throw EdgerunError(status: st, message: String(cString: err))
    }
    model = opened
  }

  /// Opens a plan held in memory (copied: `data` may be released afterwards).
  init(data: Data) throws {
    var err = [CChar](repeating: 0, count: 512)
    var m: OpaquePointer?
    let st = data.withUnsafeBytes { raw in
      edgerun_open_memory(raw.baseAddress, raw.count, EDGERUN_COPY, &m, &err, err.count)
    }
    guard st == EDGERUN_OK, let opened = m else {
      throw EdgerunError(status: st, message: String(cString: err))
    }
    model = opened
  }

  deinit { edgerun_close(model) }

  private func check(_ st: edgerun_status) throws {
    if st != EDGERUN_OK {
      throw EdgerunError(status: st, message: String(cString: edgerun_last_error(model)))
    }
  }

  var inputCount: Int { Int(edgerun_input_count(model)) }
  var outputCount: Int { Int(edgerun_output_count(model)) }

  private func info(_ index: Int, output: Bool) throws -> TensorInfo {
    var t = edgerun_tensor_info()
    try check(output ? edgerun_output_info(model, Int32(index), &t) : edgerun_input_info(model, Int32(index), &t))
    // dims is a C array: a tuple of 8 Int32 in Swift
    let dims = withUnsafeBytes(of: t.dims) { Array($0.bindMemory(to: Int32.self).prefix(Int(t.ndim))) }
    return TensorInfo(name: String(cString: t.name), type: t.type, shape: dims, scale: t.scale,
                      zeroPoint: t.zero_point, bytes: t.bytes)
  }

  func input(_ index: Int) throws -> TensorInfo { try info(index, output: false) }
  func output(_ index: Int) throws -> TensorInfo { try info(index, output: true) }

  /// Copies `values` into input `index`; their bytes must equal the input's size (the library checks).
  func setInput<T>(_ index: Int, _ values: [T]) throws {
    try values.withUnsafeBytes { raw in
      try check(edgerun_set_input(model, Int32(index), raw.baseAddress, raw.count))
    }
  }

  /// Output `index` as `count` elements of T (T's size times count must equal the output's size).
  func getOutput<T>(_ index: Int, as type: T.Type, count: Int) throws -> [T] {
    var out = [T]()
    out.reserveCapacity(count)
    try withUnsafeTemporaryAllocation(of: T.self, capacity: count) { buf in
      try check(edgerun_get_output(model, Int32(index), buf.baseAddress, count * MemoryLayout<T>.stride))
      out.append(contentsOf: buf)
    }
    return out
  }

  func invoke() throws { try check(edgerun_invoke(model)) }
  func resetVariables() throws { try check(edgerun_reset_variables(model)) }
  /// Only 1 is supported for now; other values throw with the library's message.
  func setNumThreads(_ n: Int) throws { try check(edgerun_set_num_threads(model, Int32(n))) }
}

// -- usage: an int8 keyword-spotting model ------------------------------------------------------------------
func classify(features: [Float]) throws -> Int {
  guard let path = Bundle.main.path(forResource: "kws", ofType: "plan") else { return -1 }
  let model = try EdgerunModel(path: path)
  let x = try model.input(0)            // e.g. "input" INT8 [1, 49, 10, 1] scale 0.05 zeroPoint -3
  precondition(x.type == Int32(EDGERUN_INT8))  // anonymous C enum constants import as Int
  // quantize with the input's scale and zero point
  let q: [Int8] = features.map { v in
    Int8(clamping: Int((v / x.scale).rounded()) + Int(x.zeroPoint))
  }
  try model.setInput(0, q)
  try model.invoke()
  let y = try model.output(0)
  let scores = try model.getOutput(0, as: Int8.self, count: y.bytes)
  return scores.indices.max(by: { scores[$0] < scores[$1] }) ?? -1
}
