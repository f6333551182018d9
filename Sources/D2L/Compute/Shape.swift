/// Shape helpers. A shape is an array of axis extents, outermost first.
extension Array where Element == Int {
    /// The number of elements a tensor of this shape holds (1 for the empty shape).
    public var elementCount: Int { reduce(1, *) }

    /// The book's way of writing a shape: `[1, 6, 24, 24]`.
    public var shapeDescription: String { "[" + map(String.init).joined(separator: ", ") + "]" }

    /// Row-major strides of a contiguous tensor of this shape.
    public var contiguousStrides: [Int] {
        var strides = [Int](repeating: 1, count: count)
        var s = 1
        for axis in stride(from: count - 1, through: 0, by: -1) {
            strides[axis] = s
            s *= self[axis]
        }
        return strides
    }
}

/// The shape two operands broadcast to under NumPy/PyTorch rules (trailing axes aligned;
/// an extent of 1 stretches), or nil when they are incompatible.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let ea = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let eb = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if ea == eb || eb == 1 { result[i] = ea }
        else if ea == 1 { result[i] = eb }
        else { return nil }
    }
    return result
}

/// Strides for reading a tensor of `shape` as if it had the (broadcast) shape `target`:
/// broadcast axes get stride 0.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let offset = target.count - shape.count
    let own = shape.contiguousStrides
    var strides = [Int](repeating: 0, count: target.count)
    for i in 0..<shape.count where shape[i] != 1 || target[i + offset] == 1 {
        strides[i + offset] = shape[i] == 1 ? 0 : own[i]
    }
    return strides
}
