#include "patienttablemodel.h"

namespace neuroplan::gui {

void PatientTableModel::setPatients(std::vector<records::Patient> patients) {
    beginResetModel();
    m_patients = std::move(patients);
    endResetModel();
}

const records::Patient* PatientTableModel::patientAt(int row) const {
    if (row < 0 || row >= static_cast<int>(m_patients.size())) {
        return nullptr;
    }
    return &m_patients[static_cast<std::size_t>(row)];
}

int PatientTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_patients.size());
}

int PatientTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PatientTableModel::data(const QModelIndex& index, int role) const {
    const records::Patient* patient = index.isValid() ? patientAt(index.row()) : nullptr;
    if (patient == nullptr || (role != Qt::DisplayRole && role != Qt::ToolTipRole)) {
        return {};
    }
    switch (index.column()) {
        case Mrn:
            return QString::fromStdString(patient->mrn);
        case FamilyName:
            return QString::fromStdString(patient->familyName);
        case GivenName:
            return QString::fromStdString(patient->givenName);
        case BirthDate:
            return QString::fromStdString(patient->birthDate);
        case Sex:
            return QString::fromStdString(patient->sex);
        default:
            return {};
    }
}

QVariant PatientTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
        case Mrn:
            return tr("MRN");
        case FamilyName:
            return tr("Family name");
        case GivenName:
            return tr("Given name");
        case BirthDate:
            return tr("Birth date");
        case Sex:
            return tr("Sex");
        default:
            return {};
    }
}

}  // namespace neuroplan::gui
