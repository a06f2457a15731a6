// PDF export of a run report: the HTML report laid out by QTextDocument and printed onto a QPdfWriter.
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgRenderer>
#include <QTextDocument>
#include <QUrl>

#include "ui/report_export.h"

namespace flux::ui {
namespace {

// The charts SVG rasterised at twice its natural size on white; a null image when there is nothing to draw.
QImage chartsImage(const QByteArray& svg) {
  if (svg.isEmpty()) return {};
  QSvgRenderer renderer(svg);
  if (!renderer.isValid() || renderer.defaultSize().isEmpty()) return {};
  QImage image(renderer.defaultSize() * 2, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  QPainter painter(&image);
  renderer.render(&painter);
  return image;
}

}  // namespace

QString exportReportPdf(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg) {
  {
    // QPdfWriter reports no open errors, so check the path is writable first.
    QFile probe(path);
    if (!probe.open(QIODevice::WriteOnly | QIODevice::Truncate))
      return QObject::tr("Cannot write %1: %2").arg(path, probe.errorString());
  }
  const QImage charts = chartsImage(charts_svg);
  const QUrl charts_url(QStringLiteral("fluxscope://charts.png"));
  QTextDocument doc;
  QString markup = QObject::tr("<p>(no charts)</p>");
  if (!charts.isNull()) {
    doc.addResource(QTextDocument::ImageResource, charts_url, charts);
    markup = QStringLiteral("<p><img src=\"%1\" width=\"520\"></p>").arg(charts_url.toString());
  }
  doc.setHtml(reportHtmlWithCharts(report, markup));
  {
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setTitle(QStringLiteral("FluxScope report — %1").arg(QString::fromStdString(report.model_name)));
    writer.setCreator(QStringLiteral("FluxScope"));
    doc.print(&writer);
  }
  if (QFileInfo(path).size() <= 0) return QObject::tr("Cannot write %1: the PDF is empty").arg(path);
  return {};
}

}  // namespace flux::ui
