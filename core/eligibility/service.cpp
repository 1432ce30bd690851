#include "eligibility/service.h"

#include "records/patients.h"

namespace neuroplan::eligibility {

using nlohmann::json;

namespace {

constexpr std::string_view kSelectEvaluation =
    "SELECT e.id, p.mrn, e.evaluated_utc, u.login, e.rule_set_id, e.rule_set_version, "
    "e.case_json, e.result_json, e.refractory_status, e.rtms_decision, e.vns_decision, "
    "s.signed_utc, su.login, su.display_name, s.rtms_decision, s.vns_decision, s.differs, "
    "s.reason, (SELECT min(n.id) FROM eligibility_evaluations n "
    "           WHERE n.patient_id = e.patient_id AND n.id > e.id) "
    "FROM eligibility_evaluations e "
    "JOIN patients p ON p.id = e.patient_id "
    "JOIN users u ON u.id = e.evaluated_by "
    "LEFT JOIN eligibility_signatures s ON s.evaluation_id = e.id "
    "LEFT JOIN users su ON su.id = s.physician_id ";

RefractoryStatus parseStatus(const std::string& text) {
    for (RefractoryStatus s :
         {RefractoryStatus::Refractory, RefractoryStatus::InsufficientData,
          RefractoryStatus::PseudoResistant, RefractoryStatus::NotRefractory}) {
        if (text == toString(s)) {
            return s;
        }
    }
    return RefractoryStatus::InsufficientData;
}

StoredEvaluation readRow(const store::Statement& row) {
    StoredEvaluation e;
    e.id = row.columnInt(0);
    e.mrn = row.columnText(1);
    e.evaluatedUtc = row.columnText(2);
    e.evaluatedBy = row.columnText(3);
    e.ruleSetId = row.columnText(4);
    e.ruleSetVersion = row.columnText(5);
    // Non-throwing parse: a damaged row shows as null rather than aborting a listing (the
    // audit chain is what detects tampering).
    e.caseDocument = json::parse(row.columnText(6), nullptr, false);
    e.result = json::parse(row.columnText(7), nullptr, false);
    e.status = parseStatus(row.columnText(8));
    e.rtms = parseDecision(row.columnText(9)).value_or(Decision::NeedsReview);
    e.vns = parseDecision(row.columnText(10)).value_or(Decision::NeedsReview);
    if (!row.isNull(11)) {
        Signature s;
        s.signedUtc = row.columnText(11);
        s.physicianLogin = row.columnText(12);
        s.physicianName = row.columnText(13);
        s.rtms = parseDecision(row.columnText(14)).value_or(Decision::NeedsReview);
        s.vns = parseDecision(row.columnText(15)).value_or(Decision::NeedsReview);
        s.differs = row.columnInt(16) != 0;
        s.reason = row.columnOptionalText(17).value_or("");
        e.signature = s;
    }
    if (!row.isNull(18)) {
        e.supersededBy = row.columnInt(18);
    }
    return e;
}

/// Fills the case's patient block from the record and refuses a case about someone else.
Result<json> bindToPatient(const json& caseDocument, const records::Patient& patient) {
    if (!caseDocument.is_object()) {
        return makeError(ErrorCode::InvalidInput, "(document)", "expected an object");
    }
    json bound = caseDocument;
    json& block = bound["patient"];
    if (block.is_null()) {
        block = json::object();
    }
    if (!block.is_object()) {
        return makeError(ErrorCode::InvalidInput, "patient", "expected an object");
    }
    const auto agree = [&](const char* key, const std::string& recordValue) -> Status {
        const auto it = block.find(key);
        if (it == block.end() || it->is_null()) {
            block[key] = recordValue;
            return {};
        }
        if (!it->is_string() || it->get<std::string>() != recordValue) {
            return makeError(ErrorCode::Conflict, std::string("patient.") + key,
                             "does not match the patient record (" + recordValue + ")");
        }
        return {};
    };
    NP_TRY(agree("id", patient.mrn));
    NP_TRY(agree("birth_date", patient.birthDate));
    NP_TRY(agree("sex", patient.sex));
    return bound;
}

}  // namespace

json toJson(const StoredEvaluation& e) {
    json result{{"id", e.id},
                {"mrn", e.mrn},
                {"evaluated_utc", e.evaluatedUtc},
                {"evaluated_by", e.evaluatedBy},
                {"rule_set", e.ruleSetId},
                {"rule_set_version", e.ruleSetVersion},
                {"status", toString(e.status)},
                {"rtms", toString(e.rtms)},
                {"vns", toString(e.vns)},
                {"superseded_by", e.supersededBy ? json(*e.supersededBy) : json(nullptr)},
                {"signature", nullptr},
                {"evaluation", e.result}};
    if (e.signature) {
        const Signature& s = *e.signature;
        result["signature"] = {{"physician", s.physicianLogin},
                               {"physician_name", s.physicianName},
                               {"signed_utc", s.signedUtc},
                               {"rtms", toString(s.rtms)},
                               {"vns", toString(s.vns)},
                               {"differs_from_computed", s.differs},
                               {"reason", s.reason.empty() ? json(nullptr) : json(s.reason)}};
    }
    return result;
}

Result<StoredEvaluation> EligibilityService::record(const records::Actor& by, std::string_view mrn,
                                                    const json& caseDocument) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto bound = bindToPatient(caseDocument, *patient);
    NP_TRY(bound);
    auto parsed = parseCase(*bound);
    NP_TRY(parsed);
    const Evaluation evaluation = evaluate(*parsed, m_rules);
    const json result = toJson(evaluation);
    const std::string now = formatUtc(m_store.clock()());

    std::int64_t id = 0;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO eligibility_evaluations (patient_id, evaluated_utc, evaluated_by, "
            "rule_set_id, rule_set_version, case_json, result_json, refractory_status, "
            "rtms_decision, vns_decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(patient->id, now, by.userId, m_rules.id, m_rules.storedVersion(),
                        bound->dump(), result.dump(), toString(evaluation.status),
                        toString(evaluation.rtms.decision), toString(evaluation.vns.decision));
        NP_TRY(insert->run());
        id = w.db().lastInsertRowId();
        return w.audit("eligibility_evaluation", std::to_string(id), "evaluate", nullptr,
                       json{{"mrn", patient->mrn},
                            {"rule_set", m_rules.label()},
                            {"status", toString(evaluation.status)},
                            {"rtms", toString(evaluation.rtms.decision)},
                            {"vns", toString(evaluation.vns.decision)}});
    }));
    return load(id);
}

Result<StoredEvaluation> EligibilityService::sign(const records::Actor& by,
                                                  std::int64_t evaluationId, Decision rtms,
                                                  Decision vns, const std::string& reason) {
    NP_TRY(records::require(by, records::Permission::SignClinical));
    auto current = load(evaluationId);
    NP_TRY(current);
    if (current->signature) {
        return makeError(ErrorCode::Conflict, "evaluation",
                         "evaluation " + std::to_string(evaluationId) + " was signed by " +
                             current->signature->physicianLogin +
                             " already; signed decisions are immutable (evaluate again to "
                             "supersede it)");
    }
    if (current->supersededBy) {
        return makeError(ErrorCode::Conflict, "evaluation",
                         "evaluation " + std::to_string(evaluationId) +
                             " is superseded by evaluation " +
                             std::to_string(*current->supersededBy) + "; sign the latest one");
    }
    const bool differs = rtms != current->rtms || vns != current->vns;
    std::string trimmed = reason;
    trimmed.erase(0, trimmed.find_first_not_of(" \t\r\n"));
    trimmed.erase(trimmed.find_last_not_of(" \t\r\n") + 1);
    if (differs && trimmed.size() < kMinOverrideReasonLength) {
        return makeError(ErrorCode::InvalidInput, "reason",
                         std::string("required: the signed decision (rTMS ") + toString(rtms) +
                             ", VNS " + toString(vns) + ") differs from the computed one (rTMS " +
                             toString(current->rtms) + ", VNS " + toString(current->vns) +
                             "); give the reason in at least " +
                             std::to_string(kMinOverrideReasonLength) + " characters");
    }
    const std::string now = formatUtc(m_store.clock()());
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO eligibility_signatures (evaluation_id, physician_id, signed_utc, "
            "rtms_decision, vns_decision, differs, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(evaluationId, by.userId, now, toString(rtms), toString(vns),
                        differs ? 1 : 0, trimmed.empty() ? std::optional<std::string>() : trimmed);
        NP_TRY(insert->run());
        return w.audit("eligibility_signature", std::to_string(evaluationId), "sign",
                       json{{"rtms", toString(current->rtms)}, {"vns", toString(current->vns)}},
                       json{{"mrn", current->mrn},
                            {"rtms", toString(rtms)},
                            {"vns", toString(vns)},
                            {"differs_from_computed", differs},
                            {"reason", trimmed}});
    }));
    return load(evaluationId);
}

Result<StoredEvaluation> EligibilityService::load(std::int64_t evaluationId) {
    auto row = m_store.db().prepare(std::string(kSelectEvaluation) + "WHERE e.id = ?");
    NP_TRY(row);
    row->bindAll(evaluationId);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "evaluation",
                         "no eligibility evaluation " + std::to_string(evaluationId));
    }
    return readRow(*row);
}

Result<StoredEvaluation> EligibilityService::get(const records::Actor& by,
                                                 std::int64_t evaluationId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return load(evaluationId);
}

Result<std::vector<StoredEvaluation>> EligibilityService::history(const records::Actor& by,
                                                                  std::string_view mrn) {
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto rows = m_store.db().prepare(std::string(kSelectEvaluation) +
                                     "WHERE e.patient_id = ? ORDER BY e.id DESC");
    NP_TRY(rows);
    rows->bindAll(patient->id);
    std::vector<StoredEvaluation> list;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return list;
        }
        list.push_back(readRow(*rows));
    }
}

Result<std::optional<StoredEvaluation>> EligibilityService::currentSigned(const records::Actor& by,
                                                                          std::string_view mrn) {
    auto all = history(by, mrn);
    NP_TRY(all);
    if (all->empty() || !all->front().signature) {
        return std::optional<StoredEvaluation>{};
    }
    return std::optional<StoredEvaluation>(all->front());
}

}  // namespace neuroplan::eligibility
