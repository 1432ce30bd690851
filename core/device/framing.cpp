#include "device/framing.h"

namespace neuroplan::device {

void writeHeader(std::uint32_t length, char* out) {
    out[0] = static_cast<char>((length >> 24) & 0xFF);
    out[1] = static_cast<char>((length >> 16) & 0xFF);
    out[2] = static_cast<char>((length >> 8) & 0xFF);
    out[3] = static_cast<char>(length & 0xFF);
}

std::uint32_t readHeader(const char* in) {
    const auto byte = [&](int i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i]));
    };
    return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

std::string encodeFrame(const pb::Envelope& envelope) {
    const std::size_t size = envelope.ByteSizeLong();
    if (size == 0 || size > kMaxFrameBytes) {
        return {};
    }
    std::string frame(kHeaderBytes + size, '\0');
    writeHeader(static_cast<std::uint32_t>(size), frame.data());
    envelope.SerializeWithCachedSizesToArray(
        reinterpret_cast<std::uint8_t*>(frame.data() + kHeaderBytes));
    return frame;
}

const char* toString(FrameError error) {
    switch (error) {
        case FrameError::None:
            return "none";
        case FrameError::ZeroLength:
            return "zero-length frame";
        case FrameError::Oversize:
            return "frame larger than 65536 bytes";
        case FrameError::Garbage:
            return "frame is not a protobuf envelope";
        case FrameError::UnknownType:
            return "frame of a message type this version does not know";
    }
    return "unknown";
}

void FrameDecoder::append(std::string_view bytes) {
    if (m_failed) {
        return;
    }
    // Drop what has been consumed before growing the buffer.
    if (m_offset > 0 && m_offset == m_buffer.size()) {
        m_buffer.clear();
        m_offset = 0;
    } else if (m_offset > kMaxFrameBytes) {
        m_buffer.erase(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(bytes);
}

FrameDecoder::Status FrameDecoder::next(pb::Envelope& out) {
    m_error = FrameError::None;
    if (m_failed) {
        return Status::Error;
    }
    if (buffered() < kHeaderBytes) {
        return Status::NeedMore;
    }
    const std::uint32_t length = readHeader(m_buffer.data() + m_offset);
    if (length == 0 || length > kMaxFrameBytes) {
        m_error = length == 0 ? FrameError::ZeroLength : FrameError::Oversize;
        m_failed = true;
        m_buffer.clear();
        m_offset = 0;
        return Status::Error;
    }
    if (buffered() < kHeaderBytes + length) {
        return Status::NeedMore;
    }
    const char* body = m_buffer.data() + m_offset + kHeaderBytes;
    m_offset += kHeaderBytes + length;
    out.Clear();
    if (!out.ParseFromArray(body, static_cast<int>(length))) {
        m_error = FrameError::Garbage;
        return Status::Error;
    }
    if (out.body_case() == pb::Envelope::BODY_NOT_SET) {
        m_error = FrameError::UnknownType;
        return Status::Error;
    }
    return Status::Frame;
}

}  // namespace neuroplan::device
