extension Array where Element: Comparable {
    /// Puts the `k`-th smallest of `self[from...]` at `k`, the smaller before it and the larger
    /// after (quickselect, median-of-three pivots; expected linear time); `self[..<from]` must hold
    /// none larger.
    mutating func select(_ k: Int, from: Int = 0) {
        var (low, high) = (from, count - 1)
        withUnsafeMutableBufferPointer { v in
            while low < high {
                let mid = low + (high - low) / 2
                if v[mid] < v[low] { v.swapAt(mid, low) }
                if v[high] < v[low] { v.swapAt(high, low) }
                if v[high] < v[mid] { v.swapAt(high, mid) }
                let pivot = v[mid]
                var (i, j) = (low, high)
                while i <= j {
                    while v[i] < pivot { i += 1 }
                    while pivot < v[j] { j -= 1 }
                    if i <= j {
                        v.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if k <= j { high = j } else if k >= i { low = i } else { return }
            }
        }
    }
}
