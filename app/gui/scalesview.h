// The Scales tab: enter an instrument's form from the keyboard (Tab between items, Enter to
// record), see alerts at once, and a chart of the patient's scores over time with the bands
// shaded, session administrations marked, and response and remission marked. Scoring and
// the rules are core's (scales::ScaleService).
#pragma once

#include <QWidget>
#include <optional>
#include <vector>

#include "scales/service.h"

class QChart;
class QChartView;
class QComboBox;
class QDateEdit;
class QFormLayout;
class QLabel;
class QPushButton;
class QSpinBox;

namespace neuroplan::gui {

class ScalesView : public QWidget {
    Q_OBJECT
  public:
    ScalesView(store::Store& store, QWidget* parent = nullptr);

    void setActor(const std::optional<records::Actor>& actor);
    void showPatient(const QString& mrn);
    /// Prepares the form for an administration in `context` (e.g. post_session after a
    /// session) with the session's number in the course (0: none), dated today.
    void startEntry(const QString& context, int sessionNumber);

    QComboBox* instrumentCombo() const { return m_instrument; }
    QComboBox* contextCombo() const { return m_context; }
    QSpinBox* sessionSpin() const { return m_session; }
    const std::vector<QSpinBox*>& itemBoxes() const { return m_items; }
    QPushButton* recordButton() const { return m_record; }
    QLabel* statusLabel() const { return m_status; }
    QChart* chart() const { return m_chart; }
    /// Points on the chart's score line (for tests).
    int plottedPoints() const { return m_plotted; }

  public slots:
    /// Scores and stores the form; shows alerts at once. Returns core's answer.
    Result<scales::Administration> recordForm();
    void refreshChart();

  signals:
    /// Emitted for every alert of a recorded form (e.g. suicidality_item_positive).
    void alertRaised(const QString& id, const QString& message);

  private:
    void rebuildForm();
    void updatePreview();

    store::Store& m_store;
    scales::ScaleService m_service;
    std::optional<records::Actor> m_actor;
    QString m_mrn;

    QComboBox* m_instrument;
    QComboBox* m_context;
    QSpinBox* m_session;
    QDateEdit* m_date;
    QWidget* m_formHost;
    QFormLayout* m_form;
    std::vector<QSpinBox*> m_items;
    QSpinBox* m_total;
    QLabel* m_status;
    QPushButton* m_record;
    QChart* m_chart;
    QChartView* m_chartView;
    int m_plotted = 0;
};

}  // namespace neuroplan::gui
