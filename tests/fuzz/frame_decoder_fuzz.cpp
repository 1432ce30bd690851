// libFuzzer target for the device link's frame decoder (core/device/framing.h): any bytes, fed in
// any split, must be decoded or refused without a crash, a leak or undefined behaviour, and the
// decoder must never hold more than one maximum frame.
//
//   cmake --preset fuzz && cmake --build --preset fuzz --target frame_decoder_fuzz
//   work=$(mktemp -d); cp tests/fuzz/corpus/* "$work"   # libFuzzer adds inputs to the corpus
//   build/fuzz/tests/fuzz/frame_decoder_fuzz -max_total_time=600 "$work"
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "device/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace neuroplan::device;
    if (size == 0) {
        return 0;
    }
    // The first byte chooses how the rest is split into reads, as TCP might deliver it.
    const std::size_t chunk = 1 + data[0] % 64;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    FrameDecoder decoder;
    pb::Envelope envelope;
    for (std::size_t offset = 0; offset < bytes.size(); offset += chunk) {
        decoder.append(bytes.substr(offset, chunk));
        for (;;) {
            const auto status = decoder.next(envelope);
            if (status == FrameDecoder::Status::NeedMore) {
                break;
            }
            if (status == FrameDecoder::Status::Frame) {
                // A decoded envelope encodes again to a frame the decoder accepts.
                const std::string again = encodeFrame(envelope);
                FrameDecoder check;
                check.append(again);
                pb::Envelope copy;
                if (!again.empty() && check.next(copy) != FrameDecoder::Status::Frame) {
                    std::abort();
                }
            } else if (decoder.failed()) {
                break;
            }
        }
        if (decoder.buffered() > kHeaderBytes + kMaxFrameBytes + chunk) {
            std::abort();
        }
    }
    return 0;
}
