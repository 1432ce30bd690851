// The device link's framing and codec (core/device/framing.h): round trips, golden bytes that
// pin the wire format, and every class of malformed frame answered without a crash.
#include <gtest/gtest.h>

#include <string>

#include "device/framing.h"

namespace {

using namespace neuroplan::device;

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
        out += ' ';
    }
    if (!out.empty()) {
        out.pop_back();
    }
    return out;
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out += static_cast<char>(v);
    }
    return out;
}

pb::Envelope heartbeat(std::uint64_t counter) {
    pb::Envelope envelope;
    envelope.mutable_heartbeat()->set_counter(counter);
    return envelope;
}

TEST(DeviceFraming, GoldenBytesOfAHeartbeat) {
    // Envelope.heartbeat is field 8 (tag 0x42), Heartbeat.counter field 1 (tag 0x08).
    EXPECT_EQ(hex(encodeFrame(heartbeat(1))), "00 00 00 04 42 02 08 01");
    EXPECT_EQ(hex(encodeFrame(heartbeat(300))), "00 00 00 05 42 03 08 ac 02");
}

TEST(DeviceFraming, GoldenBytesOfAnEmergencyStop) {
    pb::Envelope envelope;
    envelope.mutable_command()->set_id(7);
    envelope.mutable_command()->mutable_emergency_stop();
    // command: field 3 (0x1a); id: field 1 = 7; emergency_stop: field 16, empty (0x82 0x01 0x00)
    EXPECT_EQ(hex(encodeFrame(envelope)), "00 00 00 07 1a 05 08 07 82 01 00");
}

TEST(DeviceFraming, GoldenBytesOfAControllerHello) {
    pb::Envelope envelope;
    pb::Hello* hello = envelope.mutable_hello();
    hello->set_version_min(1);
    hello->set_version_max(1);
    hello->set_role(pb::ROLE_CONTROLLER);
    hello->set_heartbeat_timeout_ms(500);
    EXPECT_EQ(hex(encodeFrame(envelope)), "00 00 00 0b 0a 09 08 01 10 01 18 01 48 f4 03");
}

TEST(DeviceFraming, HeaderIsBigEndian) {
    char header[4];
    writeHeader(0x01020304, header);
    EXPECT_EQ(hex(std::string(header, 4)), "01 02 03 04");
    EXPECT_EQ(readHeader(header), 0x01020304u);
}

TEST(DeviceFraming, EveryMessageRoundTrips) {
    std::vector<pb::Envelope> envelopes;
    pb::Envelope e;
    e.mutable_hello()->set_model("NeuroSim");
    e.mutable_hello()->mutable_capabilities()->add_pulse_widths_us(250);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_refusal()->set_reason(pb::REFUSAL_VERSION);
    envelopes.push_back(e);
    e.Clear();
    pb::Command* load = e.mutable_command();
    load->set_id(42);
    load->mutable_load()->mutable_rtms()->set_frequency_hz(10);
    load->mutable_load()->set_approved_sha256(std::string(64, 'a'));
    envelopes.push_back(e);
    e.Clear();
    e.mutable_result()->set_status(pb::COMMAND_REJECTED);
    e.mutable_result()->set_reason(pb::REJECT_OVER_LIMIT);
    e.mutable_result()->mutable_state()->set_phase(pb::PHASE_ARMED);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_state()->set_version(9);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_telemetry()->set_sequence(5);
    e.mutable_telemetry()->set_coil_temperature_c(31.5);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_fault()->set_code(pb::FAULT_COIL_OVER_TEMPERATURE);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_log_request()->set_from_offset(3);
    envelopes.push_back(e);
    e.Clear();
    e.mutable_log_chunk()->add_entries()->set_event("stopped");
    envelopes.push_back(e);

    std::string stream;
    for (const auto& envelope : envelopes) {
        stream += encodeFrame(envelope);
    }
    // Delivered one byte at a time: frames come out whole and in order.
    FrameDecoder decoder;
    std::size_t index = 0;
    pb::Envelope out;
    for (char c : stream) {
        decoder.append(std::string_view(&c, 1));
        while (decoder.next(out) == FrameDecoder::Status::Frame) {
            ASSERT_LT(index, envelopes.size());
            EXPECT_EQ(out.SerializeAsString(), envelopes[index].SerializeAsString()) << index;
            ++index;
        }
    }
    EXPECT_EQ(index, envelopes.size());
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(DeviceFraming, ShortInputWaitsForMore) {
    const std::string frame = encodeFrame(heartbeat(1));
    for (std::size_t cut = 0; cut < frame.size(); ++cut) {
        FrameDecoder decoder;
        decoder.append(frame.substr(0, cut));
        pb::Envelope out;
        EXPECT_EQ(decoder.next(out), FrameDecoder::Status::NeedMore) << cut;
        EXPECT_FALSE(decoder.failed());
    }
}

TEST(DeviceFraming, OversizeLengthFailsBeforeAllocating) {
    FrameDecoder decoder;
    // 0x00010001 = 65537 bytes announced, none sent: refused from the header alone.
    decoder.append(bytes({0x00, 0x01, 0x00, 0x01}));
    pb::Envelope out;
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Error);
    EXPECT_EQ(decoder.error(), FrameError::Oversize);
    EXPECT_TRUE(decoder.failed());
    EXPECT_EQ(decoder.buffered(), 0u);
    // Failed for good: later bytes are not read as frames.
    decoder.append(encodeFrame(heartbeat(1)));
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Error);
}

TEST(DeviceFraming, MaximumLengthIsAccepted) {
    pb::Envelope big;
    big.mutable_fault()->set_detail(std::string(kMaxFrameBytes - 8, 'x'));
    const std::string frame = encodeFrame(big);
    ASSERT_FALSE(frame.empty());
    ASSERT_LE(frame.size() - kHeaderBytes, kMaxFrameBytes);
    FrameDecoder decoder;
    decoder.append(frame);
    pb::Envelope out;
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Frame);
}

TEST(DeviceFraming, EncodingAnOversizeEnvelopeGivesNothing) {
    pb::Envelope big;
    big.mutable_fault()->set_detail(std::string(kMaxFrameBytes + 1, 'x'));
    EXPECT_TRUE(encodeFrame(big).empty());
}

TEST(DeviceFraming, ZeroLengthFails) {
    FrameDecoder decoder;
    decoder.append(bytes({0, 0, 0, 0}));
    pb::Envelope out;
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Error);
    EXPECT_EQ(decoder.error(), FrameError::ZeroLength);
    EXPECT_TRUE(decoder.failed());
}

TEST(DeviceFraming, GarbageBodyIsDroppedAndTheStreamGoesOn) {
    FrameDecoder decoder;
    decoder.append(bytes({0, 0, 0, 3, 0xff, 0xff, 0xff}));  // not a protobuf message
    decoder.append(encodeFrame(heartbeat(2)));
    pb::Envelope out;
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Error);
    EXPECT_EQ(decoder.error(), FrameError::Garbage);
    EXPECT_FALSE(decoder.failed());
    ASSERT_EQ(decoder.next(out), FrameDecoder::Status::Frame);
    EXPECT_EQ(out.heartbeat().counter(), 2u);
}

TEST(DeviceFraming, UnknownMessageTypeIsDroppedAndTheStreamGoesOn) {
    // Field 99 (a message a newer peer might send): valid protobuf, no known body.
    FrameDecoder decoder;
    decoder.append(bytes({0, 0, 0, 4, 0x9a, 0x06, 0x01, 0x00}));
    decoder.append(encodeFrame(heartbeat(3)));
    pb::Envelope out;
    EXPECT_EQ(decoder.next(out), FrameDecoder::Status::Error);
    EXPECT_EQ(decoder.error(), FrameError::UnknownType);
    EXPECT_FALSE(decoder.failed());
    ASSERT_EQ(decoder.next(out), FrameDecoder::Status::Frame);
    EXPECT_EQ(out.heartbeat().counter(), 3u);
}

TEST(DeviceFraming, RandomBytesNeverCrash) {
    std::uint64_t state = 12345;
    for (int round = 0; round < 2000; ++round) {
        FrameDecoder decoder;
        std::string junk;
        const int length = static_cast<int>(state % 64);
        for (int i = 0; i < length; ++i) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            junk += static_cast<char>(state >> 56);
        }
        // Keep lengths small so that some junk parses as whole frames.
        if (junk.size() >= 4) {
            junk[0] = junk[1] = 0;
            junk[2] = static_cast<char>(junk[2] & 0x00);
        }
        decoder.append(junk);
        pb::Envelope out;
        for (int i = 0; i < 100 && decoder.next(out) != FrameDecoder::Status::NeedMore; ++i) {
            if (decoder.failed()) {
                break;
            }
        }
        SUCCEED();
    }
}

}  // namespace
