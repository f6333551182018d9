/// Max, average and adaptive-average pooling over NCHW planes, forward and backward side
/// by side. Every (n, c) plane is independent, so the planes are split across workers.

/// A pooling window: kernel, stride and zero/−∞ padding, as PyTorch's `MaxPool2d`/`AvgPool2d`.
public struct PoolConfig: Equatable, Sendable {
    public var kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public init(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int) = (0, 0)) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    public static func == (a: Self, b: Self) -> Bool {
        a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding
    }
    /// Output extent along one axis: ⌊(size + 2·pad − kernel)/stride⌋ + 1.
    public func outSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding.0 - kernel.0) / stride.0 + 1, (w + 2 * padding.1 - kernel.1) / stride.1 + 1)
    }
}

/// The largest window `maxPool2d` takes: the winner's position in its window is kept in a byte.
public let maxPoolLargestWindow = 256

/// Max pooling: y = max over the window (padding never wins). Backward routes each output
/// gradient to the input position that held the maximum (first one on ties, as PyTorch).
/// For backward it keeps only that position within the window, one byte per output (PyTorch
/// keeps an 8-byte index into the plane), and only while a graph is being recorded.
public func maxPool2d(_ x: Tensor, _ cfg: PoolConfig) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = cfg.outSize(h, w)
    let (kh, kw, sh, sw, ph, pw) = (cfg.kernel.0, cfg.kernel.1, cfg.stride.0, cfg.stride.1, cfg.padding.0, cfg.padding.1)
    precondition(kh * kw <= maxPoolLargestWindow, "maxPool2d: a \(kh)×\(kw) window has more than \(maxPoolLargestWindow) positions")
    let recording = Tensor.recordsGraph(for: [x])
    // Every window writes its value (and position).
    var y = Tensor.uninitializedStorage(n * c * oh * ow)
    var winners = [UInt8](unsafeUninitializedCapacity: recording ? y.count : 0) { _, initialized in
        initialized = recording ? y.count : 0
    }
    x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
    winners.withUnsafeMutableBufferPointer { pwin in
        func poolPlane(_ plane: Int) {
            maxPoolPlane(px.baseAddress! + plane &* h &* w, height: h, width: w, cfg,
                         into: py.baseAddress! + plane &* oh &* ow, codes: recording ? pwin.baseAddress! + plane &* oh &* ow : nil)
        }
        /// Planes `first ..< first + 8` at once, one SIMD lane per plane, for maps too narrow
        /// for eight windows of a row: the planes are interleaved into `lanes` (value i of
        /// plane j at i·8 + j), so that every window of every shape is eight-wide. Returns
        /// false if any value is NaN; the caller then pools those planes one by one.
        func poolEightPlanes(_ first: Int, _ lanes: UnsafeMutablePointer<Float>) -> Bool {
            let values = h &* w
            for j in 0..<8 {
                let src = px.baseAddress! + (first &+ j) &* values
                for i in 0..<values { lanes[i &* 8 &+ j] = src[i] }
            }
            let raw = UnsafeRawPointer(lanes)
            var sawNaN = SIMDMask<SIMD8<Int32>>(repeating: false)
            for oy in 0..<oh {
                let top = oy &* sh &- ph
                let rows = Swift.max(top, 0)..<Swift.min(top &+ kh, h)
                for ox in 0..<ow {
                    let left = ox &* sw &- pw
                    let columns = Swift.max(left, 0)..<Swift.min(left &+ kw, w)
                    var maxima = EightMaxima(firstPosition: Int32((rows.lowerBound &- top) &* kw &+ columns.lowerBound &- left))
                    for iy in rows {
                        let windowRow = (iy &- top) &* kw &- left
                        for ix in columns {
                            maxima.offer(raw.loadUnaligned(fromByteOffset: (iy &* w &+ ix) &* 32, as: SIMD8<Float>.self),
                                         at: Int32(truncatingIfNeeded: windowRow &+ ix))
                        }
                    }
                    sawNaN .|= maxima.sawNaN
                    let out = oy &* ow &+ ox
                    for j in 0..<8 {
                        let plane = first &+ j
                        py[plane &* oh &* ow &+ out] = maxima.best[j]
                        if recording { pwin[plane &* oh &* ow &+ out] = UInt8(truncatingIfNeeded: maxima.at[j]) }
                    }
                }
            }
            return !any(sawNaN)
        }
        let narrow = ow < 16
        forPlaneRanges(n * c) { planes in
            var next = planes.lowerBound
            if narrow && planes.count >= 8 {
                let lanes = UnsafeMutablePointer<Float>.allocate(capacity: h * w * 8)
                defer { lanes.deallocate() }
                while next &+ 8 <= planes.upperBound {
                    if !poolEightPlanes(next, lanes) { for plane in next..<(next &+ 8) { poolPlane(plane) } }
                    next &+= 8
                }
            }
            for plane in next..<planes.upperBound { poolPlane(plane) }
        }
    }}}
    let dx = x.gradTarget
    return Tensor.result(shape: [n, c, oh, ow], data: y, inputs: [x], savingCodes: winners) { node in
        let g = node.grad!
        // Window position → offset from the window's corner in the plane.
        let offsets = (0..<(kh * kw)).map { ($0 / kw) * w + $0 % kw }
        node.savedCodes.withUnsafeBufferPointer { codes in dx!.withGradBuffer { gx in
            forEachPlane(n * c) { plane in
                let dst = gx.baseAddress! + plane * h * w
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let o = (plane * oh + oy) * ow + ox
                        dst[(oy * sh - ph) * w + ox * sw - pw + offsets[Int(codes[o])]] += g[o]
                    }
                }
            }
        }}
    }
}

/// Max pooling of one (h, w) plane into its (oh, ow) outputs, with each winner's position in
/// its window in `codes` when given: eight windows of a row at once where they lie inside the
/// plane (stride 1 or 2), the rest one at a time.
func maxPoolPlane(_ src: UnsafePointer<Float>, height h: Int, width w: Int, _ cfg: PoolConfig,
                  into dst: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>?) {
    let (oh, ow) = cfg.outSize(h, w)
    let (kh, kw, sh, sw, ph, pw) = (cfg.kernel.0, cfg.kernel.1, cfg.stride.0, cfg.stride.1, cfg.padding.0, cfg.padding.1)
    for oy in 0..<oh {
        let top = oy &* sh &- ph
        let rows = Swift.max(top, 0)..<Swift.min(top &+ kh, h)
        let rowInside = top >= 0 && top &+ kh <= h && (sw == 1 || sw == 2)
        let loadSpan = sw == 1 ? 8 : 16
        var ox = 0
        while ox < ow {
            let left = ox &* sw &- pw
            let out = oy &* ow &+ ox
            if rowInside && ox &+ 8 <= ow && left >= 0 && left &+ kw &- 1 &+ loadSpan <= w,
               windowMax8(src + (top &* w &+ left), rowStride: w, kernel: (kh, kw), stride: sw,
                          into: dst + out, codes: codes.map { $0 + out }) {
                ox &+= 8
                continue
            }
            let (best, at) = windowMax(src, rowStride: w, rows: rows, columns: Swift.max(left, 0)..<Swift.min(left &+ kw, w),
                                       origin: (top, left), kernelWidth: kw)
            dst[out] = best
            codes?[out] = UInt8(truncatingIfNeeded: at)
            ox &+= 1
        }
    }
}

/// Average pooling with zero padding counted in the divisor (PyTorch's default
/// `count_include_pad=True`): y = (1/(kh·kw)) Σ window. Backward spreads g/(kh·kw) over the window.
public func avgPool2d(_ x: Tensor, _ cfg: PoolConfig) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = cfg.outSize(h, w)
    let scale = 1 / Float(cfg.kernel.0 * cfg.kernel.1)
    // Each output's window, clipped to the image: (y0, y1, x0, x1).
    func window(_ oy: Int, _ ox: Int) -> (Int, Int, Int, Int) {
        let ty = oy * cfg.stride.0 - cfg.padding.0, tx = ox * cfg.stride.1 - cfg.padding.1
        return (Swift.max(ty, 0), Swift.min(ty + cfg.kernel.0, h), Swift.max(tx, 0), Swift.min(tx + cfg.kernel.1, w))
    }
    var y = [Float](repeating: 0, count: n * c * oh * ow)
    let unpadded = cfg.padding == (0, 0)
    let pairs = unpadded && cfg.kernel == (2, 2) && cfg.stride == (2, 2)   // AveragePool2x2
    x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
        forEachPlane(n * c) { plane in
            let src = px.baseAddress! + plane * h * w
            if pairs { return AveragePool2x2.forward(src, width: w, into: py.baseAddress! + plane * oh * ow, oh: oh, ow: ow) }
            if unpadded {   // every window lies inside the image: no clipping needed
                let (kh, kw, sh, sw) = (cfg.kernel.0, cfg.kernel.1, cfg.stride.0, cfg.stride.1)
                for oy in 0..<oh { for ox in 0..<ow {
                    var s: Float = 0
                    let corner = src + oy * sh * w + ox * sw
                    for u in 0..<kh { for v in 0..<kw { s += corner[u * w + v] } }
                    py[(plane * oh + oy) * ow + ox] = s * scale
                }}
                return
            }
            for oy in 0..<oh { for ox in 0..<ow {
                let (y0, y1, x0, x1) = window(oy, ox)
                var s: Float = 0
                for iy in y0..<y1 { for ix in x0..<x1 { s += src[iy * w + ix] } }
                py[(plane * oh + oy) * ow + ox] = s * scale
            }}
        }
    }}
    let dx = x.gradTarget
    return Tensor.result(shape: [n, c, oh, ow], data: y, inputs: [x]) { node in
        let g = node.grad!
        dx!.withGradBuffer { gx in g.withUnsafeBufferPointer { pg in
            forEachPlane(n * c) { plane in
                if pairs {
                    return AveragePool2x2.backward(pg.baseAddress! + plane * oh * ow, oh: oh, ow: ow,
                                                   addingInto: gx.baseAddress! + plane * h * w, width: w)
                }
                if unpadded {
                    let (kh, kw, sh, sw) = (cfg.kernel.0, cfg.kernel.1, cfg.stride.0, cfg.stride.1)
                    let dst = gx.baseAddress! + plane * h * w
                    for oy in 0..<oh { for ox in 0..<ow {
                        let v = pg[(plane * oh + oy) * ow + ox] * scale
                        let corner = dst + oy * sh * w + ox * sw
                        for u in 0..<kh { for t in 0..<kw { corner[u * w + t] += v } }
                    }}
                    return
                }
                for oy in 0..<oh { for ox in 0..<ow {
                    let (y0, y1, x0, x1) = window(oy, ox)
                    let v = pg[(plane * oh + oy) * ow + ox] * scale
                    for iy in y0..<y1 { for ix in x0..<x1 { gx[plane * h * w + iy * w + ix] += v } }
                }}
            }
        }}
    }
}

/// Adaptive average pooling to (oh, ow), as PyTorch: output cell i covers input rows
/// ⌊i·H/oh⌋ ..< ⌈(i+1)·H/oh⌉ (likewise columns) and averages them.
public func adaptiveAvgPool2d(_ x: Tensor, outSize: (Int, Int)) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = outSize
    func span(_ i: Int, _ out: Int, _ size: Int) -> (Int, Int) { (i * size / out, ((i + 1) * size + out - 1) / out) }
    var y = [Float](repeating: 0, count: n * c * oh * ow)
    x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
        forEachPlane(n * c) { plane in
            let src = px.baseAddress! + plane * h * w
            for oy in 0..<oh { for ox in 0..<ow {
                let (y0, y1) = span(oy, oh, h), (x0, x1) = span(ox, ow, w)
                var s: Float = 0
                for iy in y0..<y1 { for ix in x0..<x1 { s += src[iy * w + ix] } }
                py[(plane * oh + oy) * ow + ox] = s / Float((y1 - y0) * (x1 - x0))
            }}
        }
    }}
    let dx = x.gradTarget
    return Tensor.result(shape: [n, c, oh, ow], data: y, inputs: [x]) { node in
        let g = node.grad!
        dx!.withGradBuffer { gx in
            forEachPlane(n * c) { plane in
                for oy in 0..<oh { for ox in 0..<ow {
                    let (y0, y1) = span(oy, oh, h), (x0, x1) = span(ox, ow, w)
                    let v = g[(plane * oh + oy) * ow + ox] / Float((y1 - y0) * (x1 - x0))
                    for iy in y0..<y1 { for ix in x0..<x1 { gx[plane * h * w + iy * w + ix] += v } }
                }}
            }
        }
    }
}
