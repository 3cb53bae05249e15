// The server workload's wire format: fixed 16-byte messages both ways, little-endian, no
// framing beyond the size (TCP is a byte stream: readers loop until 16 bytes are in).
//
//   request   id: u64 (the connection's own sequence number)   type: u32   service_ns: u32
//   response  id: u64 (echoed)                                 type: u32   status: u32 (0 = ok)
//
// The request carries its service time, so every server (Swift variants and the Go program) is
// stateless and the mix lives only in the generator. One connection has at most one request
// outstanding (the generator's rule), so a response is matched by its connection; the echoed
// id lets the generator check it.
struct ServerMessage: Equatable, Sendable {
    static let size = 16

    var id: UInt64
    var type: UInt32
    /// Requests: nanoseconds of CPU work to do. Responses: the status, 0 = served.
    var value: UInt32

    func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size, "ServerMessage needs \(Self.size) bytes")
        buffer.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: type.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: value.littleEndian, toByteOffset: 12, as: UInt32.self)
    }

    init(id: UInt64, type: UInt32, value: UInt32) {
        self.id = id
        self.type = type
        self.value = value
    }

    /// Reads the first 16 bytes of `buffer` (any alignment).
    init(decoding buffer: UnsafeRawBufferPointer) {
        precondition(buffer.count >= Self.size, "ServerMessage needs \(Self.size) bytes")
        id = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        type = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        value = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
    }

    /// The response a server sends for this request.
    var response: ServerMessage { ServerMessage(id: id, type: type, value: 0) }

    var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.withUnsafeMutableBytes { encode(into: $0) }
        return b
    }
}
