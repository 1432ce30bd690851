// The patient list as a Qt table model. It only shows what core's PatientService returned.
#pragma once

#include <QAbstractTableModel>
#include <vector>

#include "records/patients.h"

namespace neuroplan::gui {

class PatientTableModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { Mrn, FamilyName, GivenName, BirthDate, Sex, ColumnCount };

    using QAbstractTableModel::QAbstractTableModel;

    void setPatients(std::vector<records::Patient> patients);
    const records::Patient* patientAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    std::vector<records::Patient> m_patients;
};

}  // namespace neuroplan::gui
