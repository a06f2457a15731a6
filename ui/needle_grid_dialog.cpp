#include "ui/needle_grid_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

#include "engine/routing/router_file.h"

namespace flux::ui {

std::vector<int> parseNeedleList(const QString& text, bool k_suffix, QString* error) {
  std::vector<int> out;
  for (QString item : text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts)) {
    int scale = 1;
    if (k_suffix && item.endsWith(QLatin1Char('k'), Qt::CaseInsensitive)) {
      scale = 1024;
      item.chop(1);
    }
    bool ok = false;
    const int v = item.toInt(&ok);
    if (!ok || v < 0 || (k_suffix && v == 0)) {
      if (error)
        *error =
            QObject::tr("“%1” is not a whole number%2").arg(item, k_suffix ? QObject::tr(" (or 1K, 2K…)") : QString());
      return {};
    }
    if (std::find(out.begin(), out.end(), v * scale) == out.end()) out.push_back(v * scale);
  }
  if (out.empty() && error) *error = QObject::tr("the list is empty");
  return out;
}

NeedleGridSpec parseNeedleGridArgument(const QString& text, QString* error) {
  const qsizetype first = text.indexOf(QLatin1Char('/'));
  const qsizetype second = first < 0 ? -1 : text.indexOf(QLatin1Char('/'), first + 1);
  QString why;
  NeedleGridSpec spec;
  if (second < 0) why = QObject::tr("expected CONTEXTS/DEPTHS/ROUTES");
  if (why.isEmpty()) spec.contexts = parseNeedleList(text.left(first), true, &why);
  if (why.isEmpty()) spec.depths = parseNeedleList(text.mid(first + 1, second - first - 1), false, &why);
  if (why.isEmpty()) {
    for (const QString& r : text.mid(second + 1).split(QLatin1Char(','), Qt::SkipEmptyParts))
      spec.routes.push_back(r.trimmed().toStdString());
    if (spec.routes.empty()) why = QObject::tr("no routes");
  }
  if (why.isEmpty()) return spec;
  if (error) *error = why;
  return {};
}

QString previousRouterFile() {
  for (const std::filesystem::path& dir : engine::default_router_dirs()) {
    const QDir previous(QString::fromStdString((dir / "previous").string()));
    const QStringList files = previous.entryList({QStringLiteral("*.router.safetensors")}, QDir::Files, QDir::Name);
    if (!files.isEmpty()) return previous.filePath(files.first());
  }
  return {};
}

NeedleGridDialog::NeedleGridDialog(bool has_router, const QString& plan, const QStringList& saved, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle(tr("Needle Sweep"));
  const QSettings s;
  contexts_ = new QLineEdit(s.value(QStringLiteral("needle/contexts"), QStringLiteral("1K, 2K, 4K, 8K")).toString());
  contexts_->setToolTip(tr("Prompt sizes in tokens, comma-separated; 1K = 1024. The filler is sized to reach each."));
  depths_ = new QLineEdit(s.value(QStringLiteral("needle/depths"), QStringLiteral("0, 25, 50, 75, 100")).toString());
  depths_->setToolTip(tr("Where the needle sits in the filler, % (0 = start, 100 = end)"));
  max_tokens_ = new QSpinBox();
  max_tokens_->setRange(1, 256);
  max_tokens_->setValue(s.value(QStringLiteral("needle/maxTokens"), 16).toInt());
  max_tokens_->setToolTip(tr("New tokens per cell: the answer must appear in them"));
  const QStringList checked =
      s.value(QStringLiteral("needle/routes"), QStringList{QStringLiteral("fa"), QStringLiteral("sa:streaming")})
          .toStringList();
  auto* routes = new QGroupBox(tr("Routes"));
  auto* route_layout = new QGridLayout(routes);
  QStringList names;
  for (const std::string& n : needleRouteNames()) names << QString::fromStdString(n);
  names << QStringLiteral("plan");
  // The previously shipped router, when the router folders keep one: a route of its own.
  const QString previous = previousRouterFile();
  if (!previous.isEmpty()) names << QStringLiteral("router-file:") + previous;
  for (const QString& name : names) {
    QString label = name;
    if (name == QStringLiteral("plan"))
      label = tr("current plan (%1)").arg(plan);
    else if (name.startsWith(QStringLiteral("router-file:")))
      label = tr("previous router (%1)").arg(QFileInfo(previous).fileName());
    auto* box = new QCheckBox(label);
    box->setObjectName(name);
    box->setChecked(checked.contains(name));
    const bool matched = needleRouteIsMatched(name.toStdString());
    if ((name == QStringLiteral("router") || matched || name.startsWith(QStringLiteral("router-file:"))) &&
        !has_router) {
      box->setChecked(false);
      box->setEnabled(false);
      box->setToolTip(tr("This model has no layer router"));
    } else if (matched) {
      box->setToolTip(name == QStringLiteral("first-k:match")
                          ? tr("The first layers FA, the last SA: as many SA layers as the router chose on the same "
                               "prompt (runs after the router)")
                          : tr("Random sets of as many SA layers as the router chose on the same prompt, one cell "
                               "per seed (runs after the router)"));
    }
    connect(box, &QCheckBox::toggled, this, &NeedleGridDialog::updateCount);
    route_layout->addWidget(box, int(routes_.size()) / 3, int(routes_.size()) % 3);
    routes_.push_back(box);
  }
  random_seeds_ = new QSpinBox();
  random_seeds_->setRange(1, 20);
  random_seeds_->setValue(s.value(QStringLiteral("needle/randomSeeds"), 3).toInt());
  random_seeds_->setToolTip(tr("random:match: how many random layer sets (seeds 1..S); the grid shows their mean "
                               "and spread"));
  connect(random_seeds_, &QSpinBox::valueChanged, this, &NeedleGridDialog::updateCount);
  route_file_ = new QLineEdit(s.value(QStringLiteral("needle/routeFile")).toString());
  route_file_->setPlaceholderText(tr("none"));
  route_file_->setToolTip(tr("A route file (File → Save Route…, or the best fixed layer set) run as one more route"));
  other_router_ = new QLineEdit(s.value(QStringLiteral("needle/otherRouter")).toString());
  other_router_->setPlaceholderText(tr("none"));
  other_router_->setToolTip(tr("Another router file (e.g. the previous Elastic router) run as one more route"));
  for (QLineEdit* e : {route_file_, other_router_})
    connect(e, &QLineEdit::textChanged, this, &NeedleGridDialog::updateCount);
  count_ = new QLabel();
  connect(contexts_, &QLineEdit::textChanged, this, &NeedleGridDialog::updateCount);
  connect(depths_, &QLineEdit::textChanged, this, &NeedleGridDialog::updateCount);

  auto* form = new QFormLayout();
  form->addRow(tr("Contexts (tokens):"), contexts_);
  form->addRow(tr("Depths (%):"), depths_);
  form->addRow(tr("Max new tokens:"), max_tokens_);
  form->addRow(tr("Random sets (random:match):"), random_seeds_);
  form->addRow(tr("Route file:"), route_file_);
  form->addRow(tr("Other router file:"), other_router_);

  saved_ = new QListWidget();
  for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
    auto* item = new QListWidgetItem(QFileInfo(*it).fileName(), saved_);
    item->setData(Qt::UserRole, *it);
  }
  saved_->setMaximumHeight(110);
  auto* open = new QPushButton(tr("Open saved grid"));
  open->setEnabled(false);
  connect(saved_, &QListWidget::currentRowChanged, open, [open](int row) { open->setEnabled(row >= 0); });
  connect(open, &QPushButton::clicked, this, [this] {
    if (!saved_->currentItem()) return;
    chosen_ = saved_->currentItem()->data(Qt::UserRole).toString();
    accept();
  });
  auto* saved_box = new QGroupBox(tr("Saved grids (runs folder)"));
  auto* saved_layout = new QVBoxLayout(saved_box);
  saved_layout->addWidget(saved_);
  saved_layout->addWidget(open, 0, Qt::AlignRight);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Run grid"));
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    saveSettings();
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(routes);
  layout->addWidget(count_);
  layout->addWidget(saved_box);
  layout->addWidget(buttons);
  updateCount();
}

QCheckBox* NeedleGridDialog::route(const QString& name) const {
  for (QCheckBox* b : routes_)
    if (b->objectName() == name) return b;
  return nullptr;
}

NeedleGridSpec NeedleGridDialog::spec(QString* error) const {
  NeedleGridSpec spec;
  QString why;
  spec.contexts = parseNeedleList(contexts_->text(), true, &why);
  if (spec.contexts.empty()) {
    if (error) *error = tr("Contexts: %1").arg(why);
    return {};
  }
  spec.depths = parseNeedleList(depths_->text(), false, &why);
  if (spec.depths.empty()) {
    if (error) *error = tr("Depths: %1").arg(why);
    return {};
  }
  for (QCheckBox* b : routes_)
    if (b->isChecked() && b->isEnabled()) spec.routes.push_back(b->objectName().toStdString());
  if (!route_file_->text().trimmed().isEmpty())
    spec.routes.push_back("file:" + route_file_->text().trimmed().toStdString());
  if (!other_router_->text().trimmed().isEmpty())
    spec.routes.push_back("router-file:" + other_router_->text().trimmed().toStdString());
  spec.random_seeds = random_seeds_->value();
  if (spec.routes.empty()) {
    if (error) *error = tr("Pick at least one route");
    return {};
  }
  spec.max_new_tokens = max_tokens_->value();
  return spec;
}

void NeedleGridDialog::updateCount() {
  QString error;
  const NeedleGridSpec s = spec(&error);
  count_->setText(s.routes.empty() ? tr("<span style='color:#d03030'>%1</span>").arg(error.toHtmlEscaped())
                                   : tr("%1 contexts × %2 depths × %3 routes = %4 runs")
                                         .arg(s.contexts.size())
                                         .arg(s.depths.size())
                                         .arg(s.routes.size())
                                         .arg(s.cellCount()));
}

void NeedleGridDialog::saveSettings() const {
  QSettings s;
  s.setValue(QStringLiteral("needle/contexts"), contexts_->text());
  s.setValue(QStringLiteral("needle/depths"), depths_->text());
  s.setValue(QStringLiteral("needle/maxTokens"), max_tokens_->value());
  s.setValue(QStringLiteral("needle/randomSeeds"), random_seeds_->value());
  s.setValue(QStringLiteral("needle/routeFile"), route_file_->text().trimmed());
  s.setValue(QStringLiteral("needle/otherRouter"), other_router_->text().trimmed());
  QStringList checked;
  for (QCheckBox* b : routes_)
    if (b->isChecked()) checked << b->objectName();
  s.setValue(QStringLiteral("needle/routes"), checked);
}

}  // namespace flux::ui
