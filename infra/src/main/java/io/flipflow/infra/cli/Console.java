package io.flipflow.infra.cli;

import java.io.PrintStream;

/**
 * What the terminal shows while a run is followed: one live progress line at the bottom, with log
 * lines and finished runs printed above it, not through it. Where stdout is not a terminal (a log
 * file, a pipe) there is no live line: callers print plain lines instead. Hand-written because two
 * ANSI sequences (carriage return, erase line) are all it takes.
 */
public final class Console {
  private static final String ERASE = "\r\033[K";
  private static final Object LOCK = new Object();
  private static final boolean TERMINAL =
      System.console() != null && !"dumb".equals(System.getenv("TERM"));
  private static String live;

  private Console() {}

  /** Whether stdout is a terminal that can hold a live line. */
  public static boolean isTerminal() {
    return TERMINAL;
  }

  /** Replaces the live line (terminal only; elsewhere it prints nothing). */
  public static void live(String line) {
    if (!TERMINAL) {
      return;
    }
    synchronized (LOCK) {
      live = line;
      System.out.print(ERASE + line);
      System.out.flush();
    }
  }

  /** Ends the live line: it stays on screen as printed, the next output starts below it. */
  public static void endLive() {
    synchronized (LOCK) {
      if (live != null) {
        System.out.println();
        live = null;
      }
    }
  }

  /** Prints {@code text} (ending in a newline) above the live line, which is drawn again. */
  public static void above(PrintStream stream, String text) {
    synchronized (LOCK) {
      if (live != null) {
        System.out.print(ERASE);
        System.out.flush();
      }
      stream.print(text);
      stream.flush();
      if (live != null) {
        System.out.print(live);
        System.out.flush();
      }
    }
  }
}
