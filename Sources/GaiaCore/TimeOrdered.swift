/// Values in time order over a sliding window: appended (or inserted a little before the end, when
/// reported slightly out of order) and dropped from the front as they age, kept in one contiguous
/// array whose start moves forward. The controller's windows (latencies, concurrency samples) are
/// read in full at every tick of every function: a contiguous buffer is read at memory speed,
/// where a ring buffer (`Deque`) pays for its wrap-around on every element.
struct TimeOrdered<Element>: Sendable, RandomAccessCollection where Element: Sendable {
    private var storage: [Element] = []
    /// Index in `storage` of the oldest element kept.
    private var head = 0

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { storage.count - head }

    subscript(position: Int) -> Element { storage[head + position] }

    /// Appends `element` after every element whose `key` is not later than its own: the place is
    /// found by a short walk back from the end (reports come nearly in order).
    mutating func insert(_ element: Element, inOrderOf key: (Element) -> Moment) {
        let at = key(element)
        var index = storage.count
        while index > head && key(storage[index - 1]) > at { index -= 1 }
        if index == storage.count { storage.append(element) } else { storage.insert(element, at: index) }
    }

    /// Appends `element` (the newest).
    mutating func append(_ element: Element) { storage.append(element) }

    /// Drops the oldest element; the array is compacted once half of it is dropped ones, so each
    /// element is moved at most once on average.
    mutating func removeFirst() {
        precondition(head < storage.count, "removeFirst on an empty window")
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}
