#include "scalesview.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDateEdit>
#include <QDateTimeAxis>
#include <QFormLayout>
#include <QGuiApplication>
#include <QLabel>
#include <QLineSeries>
#include <QMessageBox>
#include <QPushButton>
#include <QScatterSeries>
#include <QScrollArea>
#include <QShortcut>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>

#include "dialogs.h"

namespace neuroplan::gui {

namespace {

const scales::InstrumentCatalog& catalog() {
    return scales::InstrumentCatalog::builtIn();
}

qint64 msecs(const std::string& isoDate) {
    return QDateTime(QDate::fromString(QString::fromStdString(isoDate), Qt::ISODate), QTime(12, 0),
                     Qt::UTC)
        .toMSecsSinceEpoch();
}

const QColor kBandColours[] = {QColor(46, 125, 50, 40),  QColor(156, 204, 101, 40),
                               QColor(255, 202, 40, 45), QColor(255, 112, 67, 45),
                               QColor(198, 40, 40, 45),  QColor(120, 20, 20, 45),
                               QColor(80, 0, 0, 45)};

}  // namespace

ScalesView::ScalesView(store::Store& store, QWidget* parent)
    : QWidget(parent),
      m_store(store),
      m_service(store),
      m_instrument(new QComboBox(this)),
      m_context(new QComboBox(this)),
      m_session(new QSpinBox(this)),
      m_date(new QDateEdit(QDate::currentDate(), this)),
      m_formHost(new QWidget(this)),
      m_form(new QFormLayout(m_formHost)),
      m_total(nullptr),
      m_status(new QLabel(this)),
      m_record(new QPushButton(tr("&Record"), this)),
      m_chart(new QChart),
      m_chartView(new QChartView(m_chart, this)) {
    m_instrument->setObjectName("instrument");
    for (const auto& in : catalog().all()) {
        m_instrument->addItem(QString::fromStdString(in.name + " (" + in.rater + ")"),
                              QString::fromStdString(in.id));
    }
    for (const char* c :
         {"baseline", "weekly", "pre_session", "post_session", "follow_up", "screening"}) {
        m_context->addItem(QString::fromLatin1(c), QString::fromLatin1(c));
    }
    m_session->setRange(0, 500);
    m_session->setSpecialValueText(tr("—"));
    m_date->setCalendarPopup(true);
    m_date->setDisplayFormat("yyyy-MM-dd");
    m_date->setMaximumDate(QDate::currentDate());
    m_status->setWordWrap(true);
    m_status->setObjectName("scaleStatus");
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumWidth(480);

    auto* settings = new QFormLayout;
    settings->addRow(tr("&Instrument:"), m_instrument);
    settings->addRow(tr("&Context:"), m_context);
    settings->addRow(tr("Sessio&n:"), m_session);
    settings->addRow(tr("&Date:"), m_date);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_formHost);
    scroll->setWidgetResizable(true);
    auto* left = new QVBoxLayout;
    left->addLayout(settings);
    left->addWidget(scroll, 1);
    left->addWidget(m_status);
    left->addWidget(m_record);
    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left);
    layout->addWidget(m_chartView, 2);

    connect(m_instrument, &QComboBox::currentIndexChanged, this, [this] {
        rebuildForm();
        refreshChart();
    });
    connect(m_record, &QPushButton::clicked, this, [this] {
        auto recorded = recordForm();
        if (!recorded) {
            m_status->setText(describeError(recorded.error()));
            m_status->setStyleSheet("color: #b00020;");
        }
    });
    // Keyboard first: Enter anywhere in the form records it.
    auto* enter = new QShortcut(QKeySequence(Qt::Key_Return), m_formHost);
    enter->setContext(Qt::WidgetWithChildrenShortcut);
    connect(enter, &QShortcut::activated, m_record, &QPushButton::click);
    connect(this, &ScalesView::alertRaised, this,
            [this](const QString& id, const QString& message) {
                // Shown at once, and left open until acknowledged; offscreen tests skip the modal
                // box.
                if (QGuiApplication::platformName() != "offscreen") {
                    QMessageBox::warning(this, tr("Alert: %1").arg(id), message);
                }
            });
    rebuildForm();
    refreshChart();
}

void ScalesView::setActor(const std::optional<records::Actor>& actor) {
    m_actor = actor;
    refreshChart();
}

void ScalesView::showPatient(const QString& mrn) {
    m_mrn = mrn;
    refreshChart();
}

void ScalesView::startEntry(const QString& context, int sessionNumber) {
    const int index = m_context->findData(context);
    if (index >= 0) {
        m_context->setCurrentIndex(index);
    }
    m_session->setValue(std::max(0, sessionNumber));
    m_date->setDate(QDate::currentDate());
    rebuildForm();  // a fresh, unanswered form
    if (!m_items.empty()) {
        m_items.front()->setFocus();
    } else if (m_total != nullptr) {
        m_total->setFocus();
    }
}

void ScalesView::rebuildForm() {
    while (m_form->rowCount() > 0) {
        m_form->removeRow(0);
    }
    m_items.clear();
    m_total = nullptr;
    const scales::Instrument* in =
        catalog().find(m_instrument->currentData().toString().toStdString());
    if (in == nullptr) {
        return;
    }
    if (in->totalOnly) {
        m_total = new QSpinBox(m_formHost);
        m_total->setRange(in->totalMin - 1, in->totalMax);
        m_total->setSpecialValueText(tr("—"));
        m_total->setValue(in->totalMin - 1);
        m_form->addRow(tr("Total (%1):").arg(QString::fromStdString(in->licence)), m_total);
        connect(m_total, &QSpinBox::valueChanged, this, &ScalesView::updatePreview);
    }
    for (int item = 1; item <= in->items; ++item) {
        auto* box = new QSpinBox(m_formHost);
        const auto allowed = in->allowedValues(item);
        box->setRange(allowed.front() - 1, allowed.back());
        box->setSpecialValueText(tr("—"));  // unanswered
        box->setValue(allowed.front() - 1);
        box->setObjectName(QString("item%1").arg(item));
        const QString label =
            in->itemLabels.empty()
                ? QString::number(item)
                : QString::fromStdString(in->itemLabels[static_cast<std::size_t>(item - 1)]);
        m_form->addRow(QString("%1. %2").arg(item).arg(label), box);
        connect(box, &QSpinBox::valueChanged, this, &ScalesView::updatePreview);
        m_items.push_back(box);
    }
    updatePreview();
}

void ScalesView::updatePreview() {
    const scales::Instrument* in =
        catalog().find(m_instrument->currentData().toString().toStdString());
    if (in == nullptr) {
        return;
    }
    m_status->setStyleSheet({});
    if (in->totalOnly) {
        m_status->setText(m_total->value() < in->totalMin ? tr("Enter the total.")
                                                          : tr("Total %1").arg(m_total->value()));
        return;
    }
    std::vector<std::optional<long long>> answers;
    for (QSpinBox* box : m_items) {
        answers.push_back(box->value() == box->minimum() ? std::nullopt
                                                         : std::optional<long long>(box->value()));
    }
    const auto clinicSet = m_service.clinicBandSet(in->id);
    auto s = scales::scoreForm(*in, answers, clinicSet ? *clinicSet : std::string(), "items");
    if (!s) {
        m_status->setText(describeError(s.error()));
        return;
    }
    QString text =
        s->complete
            ? tr("Total %1 · %2").arg(*s->total).arg(QString::fromStdString(s->band.value_or("")))
            : tr("%1 of %2 answered (an incomplete form gets no band)")
                  .arg(s->answered)
                  .arg(in->items);
    for (const auto& alert : s->alerts) {
        text += "\n⚠ " + QString::fromStdString(alert.message);
    }
    m_status->setText(text);
}

Result<scales::Administration> ScalesView::recordForm() {
    if (!m_actor || m_mrn.isEmpty()) {
        return makeError(ErrorCode::InvalidInput, "", "select a patient first");
    }
    scales::AdministrationInput input;
    input.instrument = m_instrument->currentData().toString().toStdString();
    input.context = m_context->currentData().toString().toStdString();
    if (m_session->value() > 0) {
        input.sessionNumber = m_session->value();
    }
    input.administeredOn = m_date->date().toString(Qt::ISODate).toStdString();
    if (m_total != nullptr) {
        if (m_total->value() >= m_total->minimum() + 1) {
            input.total = m_total->value();
        }
    } else {
        for (QSpinBox* box : m_items) {
            input.items.push_back(box->value() == box->minimum()
                                      ? std::nullopt
                                      : std::optional<long long>(box->value()));
        }
    }
    auto recorded = m_service.record(*m_actor, m_mrn.toStdString(), input);
    if (recorded) {
        for (const auto& alert : recorded->score.alerts) {
            emit alertRaised(QString::fromStdString(alert.id),
                             QString::fromStdString(alert.message));
        }
        m_status->setText(tr("Recorded (administration %1)").arg(recorded->id));
        refreshChart();
    }
    return recorded;
}

void ScalesView::refreshChart() {
    m_chart->removeAllSeries();
    for (QAbstractAxis* axis : m_chart->axes()) {
        m_chart->removeAxis(axis);
        delete axis;
    }
    m_plotted = 0;
    const scales::Instrument* in =
        catalog().find(m_instrument->currentData().toString().toStdString());
    if (in == nullptr || !m_actor || m_mrn.isEmpty()) {
        m_chart->setTitle(tr("Select a patient"));
        return;
    }
    auto trend = m_service.trend(*m_actor, m_mrn.toStdString(), in->id);
    m_chart->setTitle(tr("%1 for %2").arg(QString::fromStdString(in->name), m_mrn));
    if (!trend || trend->points.empty()) {
        m_chart->setTitle(m_chart->title() + tr(" · no complete forms yet"));
        return;
    }
    qint64 first = msecs(trend->points.front().administration.administeredOn);
    qint64 last = msecs(trend->points.back().administration.administeredOn);
    const qint64 pad = std::max<qint64>((last - first) / 20, 86400000LL * 3);
    first -= pad;
    last += pad;

    auto* xAxis = new QDateTimeAxis;
    xAxis->setFormat("yyyy-MM-dd");
    xAxis->setRange(QDateTime::fromMSecsSinceEpoch(first, Qt::UTC),
                    QDateTime::fromMSecsSinceEpoch(last, Qt::UTC));
    auto* yAxis = new QValueAxis;
    yAxis->setRange(in->totalMin, in->totalMax);
    yAxis->setLabelFormat("%d");
    yAxis->setTickType(QValueAxis::TicksDynamic);
    yAxis->setTickAnchor(in->totalMin);
    yAxis->setTickInterval(std::max(1, (in->totalMax - in->totalMin + 6) / 7));
    yAxis->setTitleText(tr("Total"));
    m_chart->addAxis(xAxis, Qt::AlignBottom);
    m_chart->addAxis(yAxis, Qt::AlignLeft);

    const auto attach = [&](QAbstractSeries* series) {
        m_chart->addSeries(series);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
    };
    const auto clinicSet = m_service.clinicBandSet(in->id);
    if (const scales::BandSet* set = in->bandSet(clinicSet ? *clinicSet : std::string())) {
        int lower = in->totalMin;
        for (std::size_t i = 0; i < set->bands.size(); ++i) {
            const auto& band = set->bands[i];
            auto* top = new QLineSeries;
            auto* bottom = new QLineSeries;
            top->append(first, band.max);
            top->append(last, band.max);
            bottom->append(first, lower);
            bottom->append(last, lower);
            auto* area = new QAreaSeries(top, bottom);
            area->setName(QString::fromStdString(band.label));
            area->setColor(kBandColours[std::min<std::size_t>(i, 6)]);
            area->setBorderColor(Qt::transparent);
            attach(area);
            lower = band.max;
        }
    }
    auto* line = new QLineSeries;
    line->setName(tr("total"));
    QPen pen(QColor("#1a237e"));
    pen.setWidth(3);
    line->setPen(pen);
    auto* sessions = new QScatterSeries;
    sessions->setName(tr("session"));
    sessions->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    sessions->setMarkerSize(9);
    sessions->setColor(QColor("#5c6bc0"));
    auto* responses = new QScatterSeries;
    responses->setName(tr("response"));
    responses->setMarkerSize(13);
    responses->setColor(QColor("#f9a825"));
    auto* remissions = new QScatterSeries;
    remissions->setName(tr("remission"));
    remissions->setMarkerShape(QScatterSeries::MarkerShapeStar);
    remissions->setMarkerSize(18);
    remissions->setColor(QColor("#2e7d32"));
    for (const auto& point : trend->points) {
        const auto& a = point.administration;
        const qint64 x = msecs(a.administeredOn);
        line->append(x, *a.score.total);
        ++m_plotted;
        if (a.context == "pre_session" || a.context == "post_session") {
            sessions->append(x, *a.score.total);
        }
        if (point.progress.response.value_or(false)) {
            responses->append(x, *a.score.total);
        }
        if (point.progress.remission.value_or(false)) {
            remissions->append(x, *a.score.total);
        }
    }
    attach(line);
    attach(sessions);
    attach(responses);
    attach(remissions);
}

}  // namespace neuroplan::gui
