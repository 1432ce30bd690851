#include "records/patients.h"

#include <nlohmann/json.hpp>

#include "base/time.h"

namespace neuroplan::records {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxMrnLength = 32;
constexpr std::size_t kMaxNameLength = 100;
constexpr int kEarliestBirthYear = 1900;

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

Status checkName(const std::string& name, const char* field) {
    if (name.empty()) {
        return makeError(ErrorCode::InvalidInput, field, "must not be empty");
    }
    if (name.size() > kMaxNameLength) {
        return makeError(ErrorCode::InvalidInput, field,
                         "longer than " + std::to_string(kMaxNameLength) + " characters");
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            return makeError(ErrorCode::InvalidInput, field, "contains a control character");
        }
    }
    return {};
}

Status checkMrn(const std::string& mrn) {
    if (mrn.empty() || mrn.size() > kMaxMrnLength) {
        return makeError(ErrorCode::InvalidInput, "mrn",
                         "must be 1-" + std::to_string(kMaxMrnLength) + " characters");
    }
    for (char c : mrn) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) {
            return makeError(ErrorCode::InvalidInput, "mrn",
                             "use letters, digits, '-', '_' or '.' only");
        }
    }
    return {};
}

Patient readPatient(const store::Statement& row) {
    return Patient{row.columnInt(0),  row.columnText(1), row.columnText(2), row.columnText(3),
                   row.columnText(4), row.columnText(5), row.columnText(6), row.columnText(7)};
}

constexpr std::string_view kSelectPatient =
    "SELECT id, mrn, family_name, given_name, birth_date, sex, created_utc, updated_utc "
    "FROM patients ";

}  // namespace

json toJson(const Patient& patient) {
    return json{{"id", patient.id},
                {"mrn", patient.mrn},
                {"family_name", patient.familyName},
                {"given_name", patient.givenName},
                {"birth_date", patient.birthDate},
                {"sex", patient.sex},
                {"created_utc", patient.createdUtc},
                {"updated_utc", patient.updatedUtc}};
}

Result<Patient> PatientService::add(const Actor& by, const PatientInput& input) {
    NP_TRY(require(by, Permission::EditPatients));
    Patient patient;
    patient.mrn = trimmed(input.mrn);
    patient.familyName = trimmed(input.familyName);
    patient.givenName = trimmed(input.givenName);
    NP_TRY(checkMrn(patient.mrn));
    NP_TRY(checkName(patient.familyName, "family_name"));
    NP_TRY(checkName(patient.givenName, "given_name"));

    auto birth = parseIsoDate(trimmed(input.birthDate), "birth_date");
    NP_TRY(birth);
    const Instant now = m_store.clock()();
    if (*birth > utcDate(now)) {
        return makeError(ErrorCode::InvalidInput, "birth_date", "is in the future");
    }
    if (birth->year() < std::chrono::year{kEarliestBirthYear}) {
        return makeError(ErrorCode::InvalidInput, "birth_date",
                         "is before " + std::to_string(kEarliestBirthYear));
    }
    patient.birthDate = formatIsoDate(*birth);

    const std::string sex = trimmed(input.sex);
    if (sex != "female" && sex != "male" && sex != "other" && sex != "unknown") {
        return makeError(ErrorCode::InvalidInput, "sex",
                         "expected female, male, other or unknown, got '" + sex + "'");
    }
    patient.sex = sex;
    patient.createdUtc = patient.updatedUtc = formatUtc(now);

    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto exists = w.db().prepare("SELECT 1 FROM patients WHERE mrn = ?");
        NP_TRY(exists);
        exists->bindAll(patient.mrn);
        auto found = exists->step();
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "mrn",
                             "a patient with MRN '" + patient.mrn + "' exists already");
        }
        auto insert = w.db().prepare(
            "INSERT INTO patients (mrn, family_name, given_name, birth_date, sex, created_utc, "
            "updated_utc) VALUES (?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(patient.mrn, patient.familyName, patient.givenName, patient.birthDate,
                        patient.sex, patient.createdUtc, patient.updatedUtc);
        NP_TRY(insert->run());
        patient.id = w.db().lastInsertRowId();
        return w.audit("patient", patient.mrn, "create", nullptr, toJson(patient));
    }));
    return patient;
}

Result<std::vector<Patient>> PatientService::list(const Actor& by) {
    NP_TRY(require(by, Permission::ViewRecords));
    auto rows =
        m_store.db().prepare(std::string(kSelectPatient) + "ORDER BY family_name, given_name, mrn");
    NP_TRY(rows);
    std::vector<Patient> patients;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return patients;
        }
        patients.push_back(readPatient(*rows));
    }
}

Result<Patient> PatientService::findByMrn(const Actor& by, std::string_view mrn) {
    NP_TRY(require(by, Permission::ViewRecords));
    auto row = m_store.db().prepare(std::string(kSelectPatient) + "WHERE mrn = ?");
    NP_TRY(row);
    row->bindAll(mrn);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "mrn",
                         "no patient with MRN '" + std::string(mrn) + "'");
    }
    return readPatient(*row);
}

}  // namespace neuroplan::records
