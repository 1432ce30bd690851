// neuroplan::base — versioned clinical data files (format "neuroplan-data/1").
//
// A data file is JSON with `format`, `kind`, `id`, `version`, a `sources` map of citations, and
// values that carry their source beside them:
//   {"value": 8, "unit": "weeks", "source": "seed", "confidence": "V"}
// Confidence: V read in the source, S read in a secondary source, R widely repeated but
// unchecked. Files are built into the binary; a clinic may load an edited copy, validated the
// same way (errors name the JSON path).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/json_reader.h"
#include "base/result.h"

namespace neuroplan {

struct Citation {
    std::string id;
    std::string text;
    std::string confidence;
};

/// Where a value came from: the source id, its citation and the confidence mark.
struct Provenance {
    std::string source;
    std::string confidence;  ///< V | S | R
    std::string citation;
};

template <class T>
struct Sourced {
    T value{};
    Provenance from;
    std::string unit;
    double allowedMin = -1e300;  ///< the range a clinic may set the value to
    double allowedMax = 1e300;
};

class DataFile {
  public:
    /// Parses and checks the envelope: format, the expected kind, id, version and sources.
    static Result<DataFile> parse(std::string_view text, std::string_view origin,
                                  std::string_view expectedKind);

    const nlohmann::json& root() const { return m_root; }
    JsonObject top() const { return JsonObject::at(m_root, "").value(); }
    const std::string& id() const { return m_id; }
    const std::string& version() const { return m_version; }
    const std::map<std::string, Citation>& sources() const { return m_sources; }

    /// Reads `source` (must name an entry of `sources`) and `confidence` of an object.
    Result<Provenance> provenance(const JsonObject& object) const;
    /// Reads {"value": number >= min, "unit"?, "source", "confidence", "note"?} at key.
    Result<Sourced<double>> number(const JsonObject& parent, std::string_view key,
                                   double min = 0.0) const;

  private:
    DataFile() = default;
    nlohmann::json m_root;
    std::string m_id;
    std::string m_version;
    std::map<std::string, Citation> m_sources;
};

}  // namespace neuroplan
