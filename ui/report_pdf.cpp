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

#include <algorithm>

#include "ui/report_export.h"

namespace flux::ui {
namespace {

// An SVG rasterised at twice its natural size on white; a null image when there is nothing to draw.
QImage svgImage(const QByteArray& svg) {
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

QString exportReportPdf(const engine::RunReport& report, const QString& path, const QByteArray& charts_svg,
                        const NeedleGrid* grid) {
  {
    // QPdfWriter reports no open errors, so check the path is writable first.
    QFile probe(path);
    if (!probe.open(QIODevice::WriteOnly | QIODevice::Truncate))
      return QObject::tr("Cannot write %1: %2").arg(path, probe.errorString());
  }
  QTextDocument doc;
  // Pictures become document resources (QTextDocument draws no SVG and reads no data: URIs).
  int next = 0;
  ReportPictures pictures;
  pictures.image = [&doc, &next](const QImage& image, const QString& alt, int width) {
    const QUrl url(QStringLiteral("fluxscope://picture%1.png").arg(next++));
    doc.addResource(QTextDocument::ImageResource, url, image);
    return QStringLiteral("<img src=\"%1\" alt=\"%2\" width=\"%3\">").arg(url.toString(), alt.toHtmlEscaped()).arg(width);
  };
  pictures.svg = [&pictures](const QByteArray& svg, const QString& alt) {
    const QImage image = svgImage(svg);
    return image.isNull() ? QObject::tr("<p>(no %1)</p>").arg(alt)
                          : QStringLiteral("<p>%1</p>").arg(pictures.image(image, alt, std::min(520, image.width() / 2)));
  };
  doc.setHtml(reportHtmlWithCharts(report, pictures.svg(charts_svg, QObject::tr("charts")), pictures, grid));
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
