package io.flipflow.infra.local;

import java.util.List;

/** One service of the local stack: started on 127.0.0.1, described as a user reaches it. */
public interface LocalService extends AutoCloseable {
  String name();

  /** Lines telling a user how to reach the service (psql line, endpoint, UI URL). */
  List<String> howToReach();

  @Override
  void close();
}
