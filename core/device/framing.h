// neuroplan::device — framing of the device link, as pure functions (no I/O).
//
// A frame is a 4-byte big-endian length N, then N bytes of one serialized Envelope
// (proto/neuroplan/device/v1/device.proto). N is checked against kMaxFrameBytes *before*
// anything is allocated for the body. docs/device-protocol.md describes the wire format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "neuroplan/device/v1/device.pb.h"

namespace neuroplan::device {

namespace pb = neuroplan::device::v1;

inline constexpr std::size_t kHeaderBytes = 4;
inline constexpr std::uint32_t kMaxFrameBytes = 64 * 1024;
/// The protocol versions this build speaks.
inline constexpr std::uint32_t kVersionMin = 1;
inline constexpr std::uint32_t kVersionMax = 1;

/// The frame for one envelope: header + body. An envelope larger than kMaxFrameBytes is a
/// programming error (nothing we send comes near it); it returns an empty string.
std::string encodeFrame(const pb::Envelope& envelope);

/// Writes the 4-byte header for a body of `length` bytes.
void writeHeader(std::uint32_t length, char* out);
/// Reads a 4-byte big-endian header.
std::uint32_t readHeader(const char* in);

/// Why a frame was not delivered.
enum class FrameError {
    None,
    ZeroLength,   ///< a header announcing an empty body: no valid envelope is empty
    Oversize,     ///< a header announcing more than kMaxFrameBytes
    Garbage,      ///< a body that is not a protobuf Envelope
    UnknownType,  ///< a valid Envelope whose body this version does not know (newer peer)
};
const char* toString(FrameError error);

/// Incremental decoder: feed it bytes as they arrive, take frames out. After ZeroLength or
/// Oversize the stream is out of step and the decoder stays failed (the link must close);
/// Garbage and UnknownType skip the one frame and decoding goes on.
class FrameDecoder {
  public:
    enum class Status { NeedMore, Frame, Error };

    void append(std::string_view bytes);
    /// The next frame into `out`, or NeedMore, or Error (see error()).
    Status next(pb::Envelope& out);
    FrameError error() const { return m_error; }
    /// True after an error that desynchronises the stream.
    bool failed() const { return m_failed; }
    std::size_t buffered() const { return m_buffer.size() - m_offset; }

    enum class Drained { NeedMore, Stopped, Failed };
    /// The read loop of both ends of the link: appends `bytes`, hands each whole frame to
    /// onFrame(envelope) and each skipped one (Garbage, UnknownType) to onDropped(error), until
    /// more bytes are needed, stop() is true after a frame, or the stream fails (error()).
    template <class OnFrame, class OnDropped, class Stop>
    Drained drain(std::string_view bytes, OnFrame&& onFrame, OnDropped&& onDropped, Stop&& stop) {
        append(bytes);
        pb::Envelope envelope;
        for (;;) {
            switch (next(envelope)) {
                case Status::NeedMore:
                    return Drained::NeedMore;
                case Status::Error:
                    if (m_failed) {
                        return Drained::Failed;
                    }
                    onDropped(m_error);
                    break;
                case Status::Frame:
                    onFrame(envelope);
                    if (stop()) {
                        return Drained::Stopped;
                    }
                    break;
            }
        }
    }

  private:
    std::string m_buffer;
    std::size_t m_offset = 0;
    FrameError m_error = FrameError::None;
    bool m_failed = false;
};

}  // namespace neuroplan::device
