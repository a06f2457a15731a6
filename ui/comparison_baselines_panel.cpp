#include "ui/comparison_baselines_panel.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace flux::ui {

QString baselineLabel(const std::string& name) {
  const QString n = QString::fromStdString(name);
  if (n.startsWith(QStringLiteral("router-file:")))
    return QObject::tr("previous router (%1)").arg(QFileInfo(n.mid(12)).fileName());
  if (n.startsWith(QStringLiteral("file:"))) return QObject::tr("file: %1").arg(QFileInfo(n.mid(5)).fileName());
  return n;
}

QString saLayersText(int sa_layers, int n_layers) {
  return QObject::tr("%1/%2 SA").arg(sa_layers).arg(n_layers);
}

QString meanSpreadText(double mean, double spread, int seeds, int precision) {
  const QString m = QString::number(mean, 'f', precision);
  return seeds > 1 ? QStringLiteral("%1 ± %2").arg(m, QString::number(spread, 'f', precision)) : m;
}

QString passText(const BaselineRow& row) {
  if (row.passed < 0) return QStringLiteral("—");
  if (row.seeds == 1) return row.passed ? QObject::tr("pass") : QObject::tr("fail");
  return QObject::tr("%1/%2 seeds (%3)")
      .arg(row.passed)
      .arg(row.seeds)
      .arg(meanSpreadText(row.pass_mean, row.pass_spread, row.seeds, 2));
}

BaselinesPanel::BaselinesPanel(QWidget* parent) : QWidget(parent) {
  button_ = new QPushButton(tr("Compare with baselines…"));
  button_->setToolTip(
      tr("Run the selected run's prompt again as all-FA, all-SA of each kind, first-k:match and random:match at its "
         "own SA fraction (and a route file, the previous router): does a fixed layer set do as well?"));
  connect(button_, &QPushButton::clicked, this, &BaselinesPanel::baselinesRequested);
  status_ = new QLabel();
  status_->setTextFormat(Qt::PlainText);
  table_ = new QTableWidget(0, ColCount);
  table_->setHorizontalHeaderLabels({tr("Route"), tr("SA layers"), tr("Prefill ms"), tr("Decode ms/tok"), tr("Answer"),
                                     tr("Route as run"), tr("Output")});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  // The route text is long (every parameter): a fixed width, the whole text in the tooltip; the output gets the rest.
  table_->horizontalHeader()->setSectionResizeMode(ColRouteRun, QHeaderView::Interactive);
  table_->horizontalHeader()->resizeSection(ColRouteRun, 160);
  table_->horizontalHeader()->setSectionResizeMode(ColOutput, QHeaderView::Stretch);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(20);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setToolTip(tr("random:match: mean ± sample spread over its seeds; each seed in the cell's tooltip"));
  table_->hide();
  auto* top = new QHBoxLayout();
  top->addWidget(button_);
  top->addWidget(status_, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(top);
  layout->addWidget(table_, 1);
}

void BaselinesPanel::begin(const BaselineResult& run, const std::string& answer, int total) {
  baselines_ = {};
  baselines_.run = run;
  baselines_.answer = answer;
  baselines_.total = total;
  baselines_.running = true;
  shown_ = true;
  button_->setEnabled(false);
  table_->show();
  fill();
  emit baselinesStarted();
}

void BaselinesPanel::add(const BaselineResult& result) {
  if (!baselines_.running) return;
  baselines_.results.push_back(result);
  fill();
}

void BaselinesPanel::end(bool cancelled, const QString& error) {
  baselines_.running = false;
  baselines_.cancelled = cancelled;
  baselines_.error = error.toStdString();
  button_->setEnabled(true);
  fill();
}

void BaselinesPanel::fill() {
  const BaselineRun& b = baselines_;
  const int done = int(b.results.size());
  const QString of = QString::fromStdString(b.run.route);
  status_->setText(b.running     ? tr("Baselines of %1: %2 of %3 runs done…").arg(of).arg(done).arg(b.total)
                   : b.cancelled ? tr("Baselines of %1: cancelled after %2 of %3 runs").arg(of).arg(done).arg(b.total)
                   : !b.error.empty()
                       ? tr("Baselines of %1 stopped after %2 of %3 runs: %4")
                             .arg(of)
                             .arg(done)
                             .arg(b.total)
                             .arg(QString::fromStdString(b.error))
                       : tr("Baselines of %1: %2 runs%3")
                             .arg(of)
                             .arg(done)
                             .arg(b.answer.empty() ? tr(" (the prompt carries no expected answer)")
                                                   : tr(", expected answer %1").arg(QString::fromStdString(b.answer))));
  const std::vector<BaselineRow> rows = baselineRows(b);
  table_->setRowCount(int(rows.size()));
  for (int r = 0; r < int(rows.size()); ++r) {
    const BaselineRow& row = rows[std::size_t(r)];
    const BaselineResult& first = *row.results.front();
    QString tip;
    for (const BaselineResult* res : row.results)
      tip += tr("%1%2: prefill %3 ms, %4, output: %5\n")
                 .arg(QString::fromStdString(res->name), res->seed ? tr(" seed %1").arg(res->seed) : QString())
                 .arg(res->prefill_ms, 0, 'f', 1)
                 .arg(res->passed < 0 ? tr("no answer to check")
                      : res->passed   ? tr("pass")
                                      : tr("fail"),
                      QString::fromStdString(res->output));
    const QString name = baselineLabel(row.name) + (row.seeds > 1 ? tr(" (%1 seeds)").arg(row.seeds) : QString());
    const QStringList cells = {name,
                               saLayersText(row.sa_layers, row.n_layers),
                               meanSpreadText(row.prefill_ms, row.prefill_spread, row.seeds, 1),
                               meanSpreadText(row.decode_ms, row.decode_spread, row.seeds, 2),
                               passText(row),
                               QString::fromStdString(first.route),
                               QString::fromStdString(first.output).simplified()};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      item->setToolTip(c == ColRouteRun ? cells[c] : tip.trimmed());
      if (c == ColPass && row.passed >= 0)
        item->setForeground(row.passed == row.seeds ? QColor(0x2e, 0x9d, 0x4f)
                            : row.passed == 0       ? QColor(0xd0, 0x30, 0x30)
                                                    : QColor(0xc0, 0x80, 0x10));
      table_->setItem(r, c, item);
    }
  }
}

}  // namespace flux::ui
