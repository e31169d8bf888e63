package io.flipflow.workflows.spec;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Shape checks for the S3 URIs of a spec; whether the objects exist is the activities' job. */
final class S3Uris {
  // Bucket names after AWS's rules (3-63 chars, lowercase, digits, dots, hyphens).
  private static final Pattern S3_URI =
      Pattern.compile("s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^\\s]*)?");
  private static final Pattern BRACE = Pattern.compile("\\{(\\d+)\\.\\.(\\d+)}");

  /**
   * The most shards one brace pattern may name (LAION-400M has about 41,000): a pattern naming more
   * is a mistake ({@code {000000..999999}{000000..999999}} is 10^12 names), refused before any
   * listing. Staging's own limit ({@code staging.max_shards}) is usually lower.
   */
  static final long MAX_PATTERN_SHARDS = 1_000_000;

  private S3Uris() {}

  /** Null when {@code uri} is a well-formed s3:// URI (prefix or brace pattern), else why not. */
  static String problem(String uri) {
    if (uri == null || uri.isBlank()) {
      return "is missing; give an s3://bucket/prefix/ or s3://bucket/p/{00000..00009}.tar";
    }
    if (!S3_URI.matcher(uri).matches()) {
      return "must look like s3://bucket/prefix (lowercase bucket name), got '" + uri + "'";
    }
    String rest = BRACE.matcher(uri).replaceAll("");
    if (rest.indexOf('{') >= 0 || rest.indexOf('}') >= 0) {
      return "has a brace pattern other than {FIRST..LAST} with digits: '" + uri + "'";
    }
    Matcher m = BRACE.matcher(uri);
    double names = 1;
    while (m.find()) {
      String first = m.group(1);
      String last = m.group(2);
      if (first.length() != last.length() || first.compareTo(last) > 0) {
        return "brace pattern {" + first + ".." + last + "} must run upwards with equal widths";
      }
      names *=
          new java.math.BigInteger(last).subtract(new java.math.BigInteger(first)).doubleValue()
              + 1;
    }
    if (names > MAX_PATTERN_SHARDS) {
      return String.format(
          java.util.Locale.ROOT,
          "names %.3g shards, at most %,d in one pattern: '%s'",
          names,
          MAX_PATTERN_SHARDS,
          uri);
    }
    return null;
  }
}
