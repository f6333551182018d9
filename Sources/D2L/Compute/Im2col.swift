/// im2col / col2im: the lowering that turns a convolution into one matrix product.
///
/// For `images` consecutive images of shape (C, H, W) the column matrix has
/// C·T rows for the T live kernel taps (T = kh·kw unless the map is tiny), row r = (c, tap),
/// and images·OH·OW columns, column = img·OH·OW + oy·OW + ox:
///   col[r, col] = x[img, c, oy·sh − ph + i, ox·sw − pw + j]   (0 outside the image).
/// `col2im` is its adjoint: it adds every column entry back onto the pixel it came from.
public struct ConvGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public let padH: Int, padW: Int

    /// The kernel taps t = i·kw + j that read at least one real pixel for some output. On
    /// maps smaller than the kernel's reach (a 3×3 kernel on a 1×1 map) the others only ever
    /// multiply padding zeros, so they are left out of the column matrix and the GEMMs.
    public let taps: [Int]

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int),
                stride: (Int, Int), padding: (Int, Int)) {
        self.channels = channels; self.height = height; self.width = width
        (kernelH, kernelW) = kernel; (strideH, strideW) = stride; (padH, padW) = padding
        let outH = (height + 2 * padding.0 - kernel.0) / stride.0 + 1
        let outW = (width + 2 * padding.1 - kernel.1) / stride.1 + 1
        /// The outputs o < `out` whose input o·stride − pad + tap lies inside [0, size).
        func valid(tap: Int, out: Int, stride: Int, pad: Int, size: Int) -> Range<Int> {
            let lo = Swift.min(out, Swift.max(0, (pad - tap + stride - 1) / stride))
            let last = size - 1 + pad - tap
            let hi = last < 0 ? lo : Swift.min(out, last / stride + 1)
            return lo..<Swift.max(lo, hi)
        }
        func rows(_ i: Int) -> Range<Int> { valid(tap: i, out: outH, stride: stride.0, pad: padding.0, size: height) }
        func columns(_ j: Int) -> Range<Int> { valid(tap: j, out: outW, stride: stride.1, pad: padding.1, size: width) }
        taps = (0..<(kernel.0 * kernel.1)).filter { t in !rows(t / kernel.1).isEmpty && !columns(t % kernel.1).isEmpty }
        self.outH = outH; self.outW = outW
        windows = taps.map { t in
            let (i, j) = (t / kernel.1, t % kernel.1)
            return TapWindow(row: i, column: j, rows: rows(i), columns: columns(j))
        }
    }

    /// Kernel tap (i, j) and the output positions whose input at that tap lies inside the image.
    struct TapWindow: Equatable, Sendable {
        let row: Int, column: Int
        /// Output rows oy with 0 ≤ oy·sh − ph + i < H, and columns ox with 0 ≤ ox·sw − pw + j < W.
        let rows: Range<Int>, columns: Range<Int>
    }

    /// One `TapWindow` per live tap, in the order of `taps`: computed once here, so the loops
    /// that lower a chunk of images do no integer division per channel and tap.
    let windows: [TapWindow]

    /// Whether some taps are left out (the weights must then be gathered to the live taps).
    public var isCompact: Bool { taps.count < kernelH * kernelW }

    public let outH: Int, outW: Int
    /// Rows of the column matrix: C · (live taps).
    public var patchSize: Int { channels * taps.count }
    /// Columns contributed by one image: OH·OW.
    public var outPixels: Int { outH * outW }
    /// A 1×1, stride-1, unpadded convolution needs no lowering: x[n] already is (C, H·W).
    public var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }
}

/// Output width from which stride-1 convolutions copy rows rather than gather through a table
/// (narrower rows are too short for the row copy to pay for itself).
let stride1MinimumWidth = 8

/// Lowers `images` images starting at `x` into `col` (patchSize × images·outPixels).
func im2col(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
    if g.isPointwise { return gatherPlanes(x, images: images, g, into: col) }
    if g.strideH == 1 && g.strideW == 1 && g.outW >= stride1MinimumWidth { return im2colStride1(x, images: images, g, into: col) }
    if g.outW < 8 { return im2colSmall(x, images: images, g, into: col) }
    let oh = g.outH, ow = g.outW, p = g.outPixels, hw = g.height * g.width
    let ld = images * p
    for c in 0..<g.channels {
        for (t, tap) in g.windows.enumerated() {
            let i = tap.row, j = tap.column, (oxLo, oxHi) = (tap.columns.lowerBound, tap.columns.upperBound)
            let row = col + (c * g.windows.count + t) * ld
            for img in 0..<images {
                let plane = x + (img * g.channels + c) * hw
                var dst = row + img * p
                for oy in 0..<oh {
                    let iy = oy * g.strideH - g.padH + i
                    if iy < 0 || iy >= g.height || oxLo >= oxHi {
                        for ox in 0..<ow { dst[ox] = 0 }
                    } else {
                        for ox in 0..<oxLo { dst[ox] = 0 }
                        let src = plane + iy * g.width - g.padW + j
                        if g.strideW == 1 {
                            // Rows are short (often < 64 floats): a plain loop beats memmove's call.
                            for ox in oxLo..<oxHi { dst[ox] = src[ox] }
                        } else if g.strideW == 2 {
                            copyEveryOther(dst, from: src, oxLo..<oxHi, readableEnd: g.width + g.padW - j)
                        } else if g.strideW == 4 {
                            copyEveryFourth(dst, from: src, oxLo..<oxHi, readableEnd: g.width + g.padW - j)
                        } else {
                            for ox in oxLo..<oxHi { dst[ox] = src[ox * g.strideW] }
                        }
                        for ox in oxHi..<ow { dst[ox] = 0 }
                    }
                    dst += ow
                }
            }
        }
    }
}

/// dst[ox] = src[2·ox] for ox in `range`, eight at a time from 16 consecutive floats (the even
/// lanes), where those 16 lie before `readableEnd` (the end of the input row, counted from
/// `src`); the rest one at a time. For the stride-2 convolutions (stems, ResNet's and RegNet's
/// down-sampling blocks and their 1×1 shortcuts).
@inline(__always)
private func copyEveryOther(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, _ range: Range<Int>, readableEnd: Int) {
    var ox = range.lowerBound
    let raw = UnsafeMutableRawPointer(dst), from = UnsafeRawPointer(src)
    while ox &+ 8 <= range.upperBound && 2 &* ox &+ 16 <= readableEnd {
        raw.storeBytes(of: from.loadUnaligned(fromByteOffset: 8 &* ox, as: SIMD16<Float>.self).evenHalf,
                       toByteOffset: 4 &* ox, as: SIMD8<Float>.self)
        ox &+= 8
    }
    while ox < range.upperBound { dst[ox] = src[2 &* ox]; ox &+= 1 }
}

/// dst[ox] = src[4·ox] for ox in `range`: `copyEveryOther` for stride 4 (AlexNet's and NiN's
/// 11×11 first layer), lanes 0, 4, …, 28 of 32 consecutive floats where those lie before
/// `readableEnd`; the rest one at a time.
@inline(__always)
private func copyEveryFourth(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, _ range: Range<Int>, readableEnd: Int) {
    var ox = range.lowerBound
    let raw = UnsafeMutableRawPointer(dst), from = UnsafeRawPointer(src)
    while ox &+ 8 <= range.upperBound && 4 &* ox &+ 32 <= readableEnd {
        raw.storeBytes(of: from.loadUnaligned(fromByteOffset: 16 &* ox, as: SIMD32<Float>.self).evenHalf.evenHalf,
                       toByteOffset: 4 &* ox, as: SIMD8<Float>.self)
        ox &+= 8
    }
    while ox < range.upperBound { dst[ox] = src[4 &* ox]; ox &+= 1 }
}

/// The lowering of a 1×1 convolution over several images: row c of the column matrix is
/// plane c of every image in turn, so each (image, channel) plane is one contiguous copy.
private func gatherPlanes(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
    let p = g.outPixels, ld = images &* p
    for c in 0..<g.channels {
        for img in 0..<images {
            let src: UnsafePointer<Float> = x + (img &* g.channels &+ c) &* p
            let dst: UnsafeMutablePointer<Float> = col + (c &* ld &+ img &* p)
            SIMDLoops.copy(dst, src, p)
        }
    }
}

/// The adjoint of `gatherPlanes`: each row segment is added onto its image's plane.
private func scatterPlanes(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dx: UnsafeMutablePointer<Float>) {
    let p = g.outPixels, ld = images &* p
    for c in 0..<g.channels {
        for img in 0..<images {
            let dst: UnsafeMutablePointer<Float> = dx + (img &* g.channels &+ c) &* p
            let src: UnsafePointer<Float> = col + (c &* ld &+ img &* p)
            SIMDLoops.add(dst, src, p)
        }
    }
}

/// The same lowering for stride 1 (most 3×3 convolutions): for kernel tap (i, j) the rows that
/// read padding are whole zero rows, and every other row is one contiguous run of the input row
/// with zeros at its ends, copied with SIMD loads (`SIMDLoops.copy`); a tap that reads no
/// padding at all (every tap of an unpadded layer) copies all of a chunk's rows in one
/// `copyRows`. Wrapping arithmetic: every index is inside the buffers by construction (the
/// ranges are the geometry's `windows`).
private func im2colStride1(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
    let oh = g.outH, ow = g.outW, w = g.width, p = g.outPixels, hw = g.height &* w, ld = images &* p
    g.windows.withUnsafeBufferPointer { windows in
        for c in 0..<g.channels {
            for t in 0..<windows.count {
                let tap = windows[t], rows = tap.rows, columns = tap.columns
                let row = col + (c &* windows.count &+ t) &* ld
                // Input row lo − ph + i, from its column lo − pw + j, feeds output row lo, column lo.
                let first = (rows.lowerBound &- g.padH &+ tap.row) &* w &- g.padW &+ tap.column &+ columns.lowerBound
                if rows.count == oh && columns.count == ow {
                    // No read of this tap falls on padding: every image's rows are plain copies.
                    copyRows(x + (c &* hw &+ first), rowStride: w, rows: oh, width: ow, images: images, imageStride: g.channels &* hw,
                             into: row)
                    continue
                }
                for img in 0..<images {
                    let dst = row + img &* p
                    SIMDLoops.zero(dst, rows.lowerBound &* ow)
                    SIMDLoops.zero(dst + rows.upperBound &* ow, (oh &- rows.upperBound) &* ow)
                    guard !columns.isEmpty else { SIMDLoops.zero(dst + rows.lowerBound &* ow, rows.count &* ow); continue }
                    var d = dst + rows.lowerBound &* ow, src = x + ((img &* g.channels &+ c) &* hw &+ first)
                    for _ in rows {
                        SIMDLoops.zero(d, columns.lowerBound)
                        SIMDLoops.copy(d + columns.lowerBound, src, columns.count)
                        SIMDLoops.zero(d + columns.upperBound, ow &- columns.upperBound)
                        d += ow; src += w
                    }
                }
            }
        }
    }
}

/// For each of `images` images (`imageStride` floats apart from `src`): `rows` rows of `width`
/// floats, `rowStride` apart, copied one after another into `dst`. Kept out of line and free of
/// the padding logic, so the row loop is only loads, stores and pointer steps (the stride-1
/// lowering's cost is per row: BN-LeNet's 8-wide rows are one vector each).
@inline(never)
private func copyRows(_ src: UnsafePointer<Float>, rowStride: Int, rows: Int, width: Int, images: Int, imageStride: Int,
                      into dst: UnsafeMutablePointer<Float>) {
    typealias V = SIMD8<Float>
    var d = UnsafeMutableRawPointer(dst)
    let step = rowStride &* 4, bytes = width &* 4
    for img in 0..<images {
        var s = UnsafeRawPointer(src + img &* imageStride), r = rows
        if width == 8 {
            while r > 0 { d.storeBytes(of: s.loadUnaligned(as: V.self), as: V.self); s += step; d += 32; r &-= 1 }
        } else if width & 7 == 0 {
            while r > 0 {
                var j = 0
                repeat {
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: j, as: V.self), toByteOffset: j, as: V.self)
                    j &+= 32
                } while j < bytes
                s += step; d += bytes; r &-= 1
            }
        } else {
            while r > 0 {
                SIMDLoops.copy(d.assumingMemoryBound(to: Float.self), s.assumingMemoryBound(to: Float.self), width)
                s += step; d += bytes; r &-= 1
            }
        }
    }
}

/// The same lowering for small feature maps (output narrower than 8), where per-row loop
/// overhead would dominate: each kernel tap gets a table of input offsets (−1 for padding)
/// for the OH·OW output positions, and every channel and image is a gather through it.
private func im2colSmall(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
    let p = g.outPixels, hw = g.height * g.width, ld = images * p
    for (tapIndex, tap) in g.taps.enumerated() {
        g.inputOffsets(tap: tap / g.kernelW, tap % g.kernelW).withUnsafeBufferPointer { t in
            for c in 0..<g.channels {
                let row = col + (c * g.taps.count + tapIndex) * ld
                for img in 0..<images {
                    let plane = x + (img * g.channels + c) * hw, dst = row + img * p
                    for q in 0..<p { dst[q] = t[q] >= 0 ? plane[t[q]] : 0 }
                }
            }
        }
    }
}

/// Adds the column matrix back onto `images` images at `dx` (the adjoint of `im2col`).
func col2im(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dx: UnsafeMutablePointer<Float>) {
    if g.isPointwise { return scatterPlanes(col, images: images, g, addingInto: dx) }
    if g.strideH == 1 && g.strideW == 1 && g.outW >= stride1MinimumWidth { return col2imStride1(col, images: images, g, addingInto: dx) }
    if g.outW < 8 { return col2imSmall(col, images: images, g, addingInto: dx) }
    let oh = g.outH, ow = g.outW, p = g.outPixels, hw = g.height * g.width
    let ld = images * p
    for c in 0..<g.channels {
        for (t, tap) in g.windows.enumerated() {
            let i = tap.row, j = tap.column, (oxLo, oxHi) = (tap.columns.lowerBound, tap.columns.upperBound)
            let row = col + (c * g.windows.count + t) * ld
            if oxLo >= oxHi { continue }
            for img in 0..<images {
                let plane = dx + (img * g.channels + c) * hw
                var src = row + img * p
                for oy in 0..<oh {
                    let iy = oy * g.strideH - g.padH + i
                    if iy >= 0 && iy < g.height {
                        let dst = plane + iy * g.width - g.padW + j
                        for ox in oxLo..<oxHi { dst[ox * g.strideW] += src[ox] }
                    }
                    src += ow
                }
            }
        }
    }
}

/// The adjoint of `im2colStride1`: each valid row of the column matrix is added onto one
/// contiguous run of an input row (a tap that reads no padding: all of a chunk's rows in one
/// `addRows`).
private func col2imStride1(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dx: UnsafeMutablePointer<Float>) {
    let ow = g.outW, w = g.width, p = g.outPixels, hw = g.height &* w, ld = images &* p
    g.windows.withUnsafeBufferPointer { windows in
        for c in 0..<g.channels {
            for t in 0..<windows.count {
                let tap = windows[t], rows = tap.rows, columns = tap.columns
                if columns.isEmpty { continue }
                let row = col + (c &* windows.count &+ t) &* ld
                let first = (rows.lowerBound &- g.padH &+ tap.row) &* w &- g.padW &+ tap.column &+ columns.lowerBound
                if rows.count == g.outH && columns.count == ow {
                    addRows(row, into: dx + (c &* hw &+ first), rowStride: w, rows: rows.count, width: ow,
                            images: images, imageStride: g.channels &* hw)
                    continue
                }
                for img in 0..<images {
                    var d = dx + ((img &* g.channels &+ c) &* hw &+ first)
                    var src = row + (img &* p &+ rows.lowerBound &* ow &+ columns.lowerBound)
                    for _ in rows {
                        SIMDLoops.add(d, src, columns.count)
                        d += w; src += ow
                    }
                }
            }
        }
    }
}

/// The adjoint of `copyRows`: `src` holds, for each of `images` images, `rows` rows of `width`
/// floats one after another; each row is added onto `dst` (the image's rows `rowStride` apart,
/// images `imageStride` apart).
@inline(never)
private func addRows(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, width: Int,
                     images: Int, imageStride: Int) {
    typealias V = SIMD8<Float>
    var s = UnsafeRawPointer(src)
    let step = rowStride &* 4, bytes = width &* 4
    for img in 0..<images {
        var d = UnsafeMutableRawPointer(dst + img &* imageStride), r = rows
        if width & 7 == 0 {
            while r > 0 {
                var j = 0
                repeat {
                    d.storeBytes(of: d.loadUnaligned(fromByteOffset: j, as: V.self) + s.loadUnaligned(fromByteOffset: j, as: V.self),
                                 toByteOffset: j, as: V.self)
                    j &+= 32
                } while j < bytes
                s += bytes; d += step; r &-= 1
            }
        } else {
            while r > 0 {
                SIMDLoops.add(d.assumingMemoryBound(to: Float.self), s.assumingMemoryBound(to: Float.self), width)
                s += bytes; d += step; r &-= 1
            }
        }
    }
}

/// The adjoint of `im2colSmall`: scatter-adds every column entry through the offset table.
private func col2imSmall(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dx: UnsafeMutablePointer<Float>) {
    let p = g.outPixels, hw = g.height * g.width, ld = images * p
    for (tapIndex, tap) in g.taps.enumerated() {
        g.inputOffsets(tap: tap / g.kernelW, tap % g.kernelW).withUnsafeBufferPointer { t in
            for c in 0..<g.channels {
                let row = col + (c * g.taps.count + tapIndex) * ld
                for img in 0..<images {
                    let plane = dx + (img * g.channels + c) * hw, src = row + img * p
                    for q in 0..<p where t[q] >= 0 { plane[t[q]] += src[q] }
                }
            }
        }
    }
}

extension ConvGeometry {
    /// For kernel tap (i, j): the offset in the input plane that each output position
    /// oy·OW + ox reads, or −1 where it reads padding.
    func inputOffsets(tap i: Int, _ j: Int) -> [Int] {
        var table = [Int](repeating: -1, count: outPixels)
        for oy in 0..<outH {
            for ox in 0..<outW {
                let iy = oy * strideH - padH + i, ix = ox * strideW - padW + j
                if iy >= 0 && iy < height && ix >= 0 && ix < width { table[oy * outW + ox] = iy * width + ix }
            }
        }
        return table
    }
}
