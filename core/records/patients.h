// neuroplan::records — patients: registration and look-up, validated and audited.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "records/users.h"
#include "store/store.h"

namespace neuroplan::records {

struct Patient {
    std::int64_t id = 0;
    std::string mrn;  ///< medical record number, unique in the clinic
    std::string familyName;
    std::string givenName;
    std::string birthDate;  ///< YYYY-MM-DD
    std::string sex;        ///< female | male | other | unknown
    std::string createdUtc;
    std::string updatedUtc;
};

nlohmann::json toJson(const Patient& patient);

/// A patient as typed by a person or a script; every field is checked by the service and
/// errors name the field (mrn, family_name, given_name, birth_date, sex).
struct PatientInput {
    std::string mrn;
    std::string familyName;
    std::string givenName;
    std::string birthDate;
    std::string sex;
};

class PatientService {
  public:
    explicit PatientService(store::Store& store) : m_store(store) {}

    Result<Patient> add(const Actor& by, const PatientInput& input);
    /// Sorted by family name, given name, MRN.
    Result<std::vector<Patient>> list(const Actor& by);
    Result<Patient> findByMrn(const Actor& by, std::string_view mrn);

  private:
    store::Store& m_store;
};

}  // namespace neuroplan::records
