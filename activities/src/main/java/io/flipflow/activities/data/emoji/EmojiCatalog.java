package io.flipflow.activities.data.emoji;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The emoji-datasource rows joined with emojibase's CLDR data (DATA.md): join key = the code points
 * with every FE0F removed. Each row (base emoji or skin variant) carries label, tags, group and
 * subgroup (keys and readable names from {@code en/messages.json}), and the concept hold-out.
 */
public final class EmojiCatalog {

  /** One image-bearing emoji (base or skin variant). */
  public record Emoji(
      String key, // join key, e.g. "1F44D-1F3FB"
      String baseKey,
      String label,
      List<String> tags, // the base emoji's tags for skin variants
      String groupKey,
      String groupName,
      String subgroupKey,
      String subgroupName,
      boolean isSkinVariant,
      String image, // emoji-datasource image file name, e.g. "1f44d-1f3fb.png"
      JsonObject datasourceRow) {

    /** Flags and components are outside the concept hold-out and the evaluation sets. */
    public boolean isFlagOrComponent() {
      return groupKey.equals("flags") || groupKey.equals("component");
    }

    /** DATA.md's rule: sha1(base join key) % 5 == 0, over non-flag non-component base emoji. */
    public boolean isHeldOut() {
      return !isFlagOrComponent() && heldOut(baseKey);
    }
  }

  private final List<Emoji> emoji;

  private EmojiCatalog(List<Emoji> emoji) {
    this.emoji = emoji;
  }

  public List<Emoji> all() {
    return emoji;
  }

  public List<Emoji> base() {
    return emoji.stream().filter(e -> !e.isSkinVariant()).toList();
  }

  public static String joinKey(String unified) {
    String k = unified.toUpperCase(java.util.Locale.ROOT).replace("-FE0F", "").replace("FE0F-", "");
    return k.equals("FE0F") ? "" : k;
  }

  static boolean heldOut(String baseKey) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-1").digest(baseKey.getBytes(StandardCharsets.US_ASCII));
      return new BigInteger(1, d).mod(BigInteger.valueOf(5)).signum() == 0;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Joins {@code emoji.json} (emoji-datasource) with emojibase {@code en/data.json} and {@code
   * en/messages.json}. A row without an emojibase entry is an IllegalArgumentException naming it.
   */
  public static EmojiCatalog parse(
      byte[] emojiJson, byte[] emojibaseData, byte[] emojibaseMessages) {
    JsonObject messages = JsonParser.parseString(utf8(emojibaseMessages)).getAsJsonObject();
    Map<Integer, String[]> groups = orderIndex(messages.getAsJsonArray("groups"));
    Map<Integer, String[]> subgroups = orderIndex(messages.getAsJsonArray("subgroups"));
    Map<String, JsonObject> cldr = new HashMap<>();
    for (JsonElement el : JsonParser.parseString(utf8(emojibaseData)).getAsJsonArray()) {
      JsonObject o = el.getAsJsonObject();
      cldr.put(joinKey(o.get("hexcode").getAsString()), o);
      if (o.has("skins")) {
        for (JsonElement s : o.getAsJsonArray("skins")) {
          cldr.put(joinKey(s.getAsJsonObject().get("hexcode").getAsString()), s.getAsJsonObject());
        }
      }
    }
    List<Emoji> out = new ArrayList<>();
    for (JsonElement el : JsonParser.parseString(utf8(emojiJson)).getAsJsonArray()) {
      JsonObject row = el.getAsJsonObject();
      String baseKey = joinKey(row.get("unified").getAsString());
      JsonObject base = cldr.get(baseKey);
      if (base == null) {
        throw new IllegalArgumentException(
            "emoji.json row " + row.get("unified").getAsString() + " has no emojibase entry");
      }
      List<String> tags = new ArrayList<>();
      if (base.has("tags")) {
        base.getAsJsonArray("tags").forEach(t -> tags.add(t.getAsString()));
      }
      String[] g = groups.get(base.get("group").getAsInt());
      String[] sg = subgroups.get(base.get("subgroup").getAsInt());
      out.add(
          new Emoji(
              baseKey,
              baseKey,
              base.get("label").getAsString(),
              tags,
              g[0],
              g[1],
              sg[0],
              sg[1],
              false,
              row.get("image").getAsString(),
              row));
      if (row.has("skin_variations")) {
        for (var sv : row.getAsJsonObject("skin_variations").entrySet()) {
          JsonObject v = sv.getValue().getAsJsonObject();
          String key = joinKey(v.get("unified").getAsString());
          JsonObject skin = cldr.get(key);
          if (skin == null) {
            throw new IllegalArgumentException(
                "skin variation " + v.get("unified").getAsString() + " has no emojibase entry");
          }
          out.add(
              new Emoji(
                  key,
                  baseKey,
                  skin.get("label").getAsString(),
                  tags,
                  g[0],
                  g[1],
                  sg[0],
                  sg[1],
                  true,
                  v.get("image").getAsString(),
                  v));
        }
      }
    }
    return new EmojiCatalog(out);
  }

  private static Map<Integer, String[]> orderIndex(JsonArray arr) {
    Map<Integer, String[]> m = new LinkedHashMap<>();
    for (JsonElement e : arr) {
      JsonObject o = e.getAsJsonObject();
      m.put(
          o.get("order").getAsInt(),
          new String[] {o.get("key").getAsString(), o.get("message").getAsString()});
    }
    return m;
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
