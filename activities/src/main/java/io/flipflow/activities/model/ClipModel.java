package io.flipflow.activities.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.workflows.spec.Reconstruction;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * CLIP with FLIP's masked image tower: both encoders, L2-normalised embeddings, a learnable
 * temperature. The model owns its NDManager (weights live there); every entry point runs in a scope
 * under the caller's arrays so that nothing computed per call stays in the model's manager.
 *
 * <p>Why the scopes: DJL attaches an op's result to the manager of its receiver, so any op with a
 * parameter on the left (including inside DJL blocks) would leak one array into the model's manager
 * per call. Each call temporarily attaches the parameters to a sub-manager of the input and returns
 * them when that closes (DJL's {@code tempAttachAll} idiom).
 *
 * <p>Over 350 lines: the towers' wiring and the stable OpenCLIP-style parameter names are one map.
 */
public final class ClipModel extends AbstractBlock implements AutoCloseable {

  private static final byte VERSION = 1;

  /** OpenAI CLIP's initial temperature 0.07. */
  public static final float INITIAL_LOGIT_SCALE = (float) Math.log(1 / 0.07);

  /** The logit scale is clamped to at most 100 (i.e. log-scale ln 100). */
  public static final float MAX_LOGIT_SCALE = (float) Math.log(100);

  private final ModelPreset preset;
  private final VisionTransformer visual;
  private final TextTransformer text;
  private final Parameter logitScale;
  private final MaeDecoder decoder; // Table 1f only; null for a plain CLIP model
  private NDManager manager;
  private NDManager ownedRoot;
  private ParameterStore store;
  private Precision precision = Precision.FP32;

  private ClipModel(ModelPreset preset, Reconstruction reconstruction) {
    super(VERSION);
    this.preset = preset.validate();
    this.visual = addChildBlock("visual", new VisionTransformer(preset));
    this.text = addChildBlock("text", new TextTransformer(preset));
    this.logitScale =
        addParameter(
            Parameter.builder()
                .setName("logit_scale")
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(1))
                .optInitializer(new ConstantInitializer(INITIAL_LOGIT_SCALE))
                .build());
    // last, so that the towers are initialised from the seed exactly as without it
    this.decoder =
        reconstruction == null
            ? null
            : addChildBlock(
                "decoder",
                new MaeDecoder(
                    preset,
                    reconstruction.decoderLayers(),
                    reconstruction.decoderWidthFor(preset.visionWidth())));
  }

  /**
   * Builds and initialises a model in its own sub-manager of {@code parent}; weights are a function
   * of {@code seed} alone.
   */
  public static ClipModel create(ModelPreset preset, NDManager parent, int seed) {
    return create(preset, parent, seed, null);
  }

  /**
   * As {@link #create(ModelPreset, NDManager, int)}, with Table 1f's decoder where {@code
   * reconstruction} is set; the two towers' initial weights do not depend on it.
   */
  public static ClipModel create(
      ModelPreset preset, NDManager parent, int seed, Reconstruction reconstruction) {
    ClipModel model = new ClipModel(preset, reconstruction);
    model.manager = parent.newSubManager();
    model.manager.setName("clip-model-" + preset.name());
    Engine.getInstance().setRandomSeed(seed);
    model.initialize(
        model.manager,
        DataType.FLOAT32,
        new Shape(1, 3, preset.imageSize(), preset.imageSize()),
        new Shape(1, preset.contextLength()));
    model.store = new ParameterStore(model.manager, false);
    return model;
  }

  /**
   * A model with a manager of its own on {@code device} (inference: a model loaded from a
   * checkpoint); closing the model frees everything.
   */
  public static ClipModel createOn(ModelPreset preset, Device device, int seed) {
    NDManager root = NDManager.newBaseManager(device);
    try {
      ClipModel model = create(preset, root, seed);
      model.ownedRoot = root;
      return model;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  VisionTransformer visual() {
    return visual;
  }

  TextTransformer text() {
    return text;
  }

  public ModelPreset preset() {
    return preset;
  }

  /** The manager that owns the weights (and, by convention, the optimizer state below it). */
  public NDManager manager() {
    return manager;
  }

  /**
   * Runs the towers (and Table 1f's decoder) at {@code precision} from now on: under autocast for
   * bf16/fp16, with their outputs cast back to float32, so normalisation, the temperature and the
   * loss are float32 as OpenCLIP's AMP computes them. Weights stay float32.
   */
  public ClipModel setPrecision(Precision precision) {
    String reason = precision.unsupportedReason();
    if (reason != null) {
      throw new IllegalArgumentException("precision: " + reason);
    }
    this.precision = precision;
    return this;
  }

  public Precision precision() {
    return precision;
  }

  /** Every attention block of every tower computes attention this way from now on. */
  public ClipModel setAttention(Attention attention) {
    String reason = attention.unsupportedReason();
    if (reason != null) {
      throw new IllegalArgumentException("attention: " + reason);
    }
    setAttention(this, attention);
    return this;
  }

  private static void setAttention(ai.djl.nn.Block block, Attention attention) {
    if (block instanceof MultiHeadSelfAttention a) {
      a.setAttention(attention);
    }
    for (Pair<String, ai.djl.nn.Block> child : block.getChildren()) {
      setAttention(child.getValue(), attention);
    }
  }

  /**
   * {@code tower} at this model's precision: as it is in fp32; else under autocast on the weights'
   * device, its float16/bfloat16 output cast back to float32 (keeping the autograd graph).
   */
  private NDArray atPrecision(java.util.function.Supplier<NDArray> tower) {
    if (precision == Precision.FP32) {
      return tower.get();
    }
    try (NativeTorch.Autocast region =
        NativeTorch.autocast(manager.getDevice(), precision.autocastDtype())) {
      return NativeTorch.cast(tower.get(), NativeTorch.Dtype.FLOAT32);
    }
  }

  /** Number of scalar weights actually allocated. */
  public long parameterCount() {
    long count = 0;
    for (Pair<String, Parameter> p : getParameters()) {
      count += p.getValue().getArray().size();
    }
    return count;
  }

  /** The learnable log temperature, {@code logit_scale}. */
  public Parameter logitScaleParameter() {
    return logitScale;
  }

  /** The current temperature multiplier exp(logit_scale). */
  public float logitScale() {
    return (float) Math.exp(logitScale.getArray().getFloat());
  }

  /** Clamps the log scale to at most ln 100 in place, as OpenCLIP does after each update. */
  public void clampLogitScale() {
    NDArray w = logitScale.getArray();
    try (NDManager scope = manager.newSubManager()) {
      scope.tempAttachAll(w);
      w.subi(w.sub(MAX_LOGIT_SCALE).maximum(0f));
    }
  }

  /**
   * The training loss for one paired batch with a fresh random mask; the result is attached to the
   * images' manager. Call inside a {@code GradientCollector} to get gradients.
   */
  public NDArray loss(NDArray images, NDArray tokens, double maskRatio) {
    return loss(images, tokens, null, maskRatio);
  }

  /**
   * As {@link #loss(NDArray, NDArray, double)} for text-masked captions: {@code tokens} (B, T') are
   * the kept tokens and {@code textPositions} (B, T') their positions ({@link TextMasking}); null
   * positions for whole captions.
   */
  public NDArray loss(NDArray images, NDArray tokens, NDArray textPositions, double maskRatio) {
    return inScope(
        images,
        tokens,
        scope -> {
          NDArray imageEmbeddings = normalise(encodeImagesRaw(scope, images, maskRatio, true));
          NDArray textEmbeddings = normalise(encodeTextsRaw(tokens, textPositions, true));
          NDArray clamped = trainingLogitScale(images.getDevice());
          return ClipLoss.symmetricInfoNce(imageEmbeddings, textEmbeddings, clamped);
        });
  }

  /**
   * FLIP's loss plus Table 1f's: the decoder predicts the normalised pixels of the patches this
   * step's mask dropped, and {@code weight} times their mean squared error is added. The mask is
   * drawn as {@link #loss} draws it. Returns (total loss, reconstruction loss), attached to the
   * images' manager.
   */
  public NDList lossWithReconstruction(
      NDArray images, NDArray tokens, NDArray textPositions, double maskRatio, double weight) {
    if (decoder == null) {
      throw new IllegalStateException("this model has no reconstruction decoder");
    }
    if (!(maskRatio > 0)) {
      throw new IllegalArgumentException(
          "reconstruction needs masked patches, maskRatio " + maskRatio);
    }
    checkImages(images);
    return inScopeList(
        images,
        tokens,
        scope -> {
          int batch = (int) images.getShape().get(0);
          int kept = PatchMasking.keptTokens(preset.numPatches(), maskRatio);
          NDArray order = PatchMasking.sampleOrder(scope, batch, preset.numPatches());
          NDArray keep = order.get(":, :" + kept);
          NDArray dropped = order.get(":, " + kept + ":");
          NDArray encoded = atPrecision(() -> visual.encode(store, images, keep, true));
          NDArray imageEmbeddings =
              normalise(atPrecision(() -> visual.embed(store, encoded, true)));
          NDArray textEmbeddings = normalise(encodeTextsRaw(tokens, textPositions, true));
          NDArray clamped = trainingLogitScale(images.getDevice());
          NDArray contrastive = ClipLoss.symmetricInfoNce(imageEmbeddings, textEmbeddings, clamped);
          NDArray patches = visual.hasClassToken() ? encoded.get(":, 1:, :") : encoded;
          NDArray predicted =
              atPrecision(
                  () ->
                      decoder
                          .forward(store, new NDList(patches, keep, dropped), true)
                          .singletonOrThrow());
          NDArray target =
              MaeDecoder.normalisedPatches(
                  PatchMasking.keep(MaeDecoder.patchify(images, preset.patchSize()), dropped));
          NDArray reconstruction = predicted.sub(target).square().mean();
          return new NDList(contrastive.add(Scalars.mul(reconstruction, weight)), reconstruction);
        });
  }

  /** Whether this model carries Table 1f's decoder. */
  public boolean hasDecoder() {
    return decoder != null;
  }

  /**
   * Kept-token indices (B, L') for a batch at {@code maskRatio}, drawn from the engine's generator
   * exactly as {@link #loss} draws them; null at ratio 0 (every patch). The data-parallel step
   * draws one mask for the whole batch and hands each shard its rows.
   */
  public NDArray sampleKeepIndices(NDManager manager, int batch, double maskRatio) {
    PatchMasking.checkRatio(maskRatio);
    return maskRatio > 0
        ? PatchMasking.sampleKeepIndices(manager, batch, preset.numPatches(), maskRatio)
        : null;
  }

  /**
   * Training-mode, L2-normalised (image, text) embeddings of one shard, with the given kept-token
   * indices (null: every patch); attached to the images' manager, gradients recorded. The
   * data-parallel step runs this on each device's replica.
   */
  public NDList trainingEmbeddings(
      NDArray images, NDArray tokens, NDArray textPositions, NDArray keepIndices) {
    checkImages(images);
    NDList out = new NDList(2);
    NDArray image =
        inScope(
            images,
            keepIndices,
            scope -> {
              NDList inputs = new NDList(images);
              if (keepIndices != null) {
                inputs.add(keepIndices);
              }
              return normalise(
                  atPrecision(() -> visual.forward(store, inputs, true).singletonOrThrow()));
            });
    out.add(image);
    out.add(
        inScope(
            tokens,
            textPositions,
            scope -> normalise(encodeTextsRaw(tokens, textPositions, true))));
    return out;
  }

  /** The temperature as the losses use it: exp of the learnable scale, clamped at 100, tracked. */
  private NDArray trainingLogitScale(ai.djl.Device device) {
    NDArray scale = store.getValue(logitScale, device, true);
    return Scalars.minimum(scale, MAX_LOGIT_SCALE).exp().reshape(new Shape());
  }

  /**
   * This rank's share of the global batch's InfoNCE ({@link ClipLoss#localInfoNce}): rows {@code
   * [offset, offset + b)} of the gathered embeddings against all of them.
   */
  public NDArray localLossFromEmbeddings(
      NDArray imageEmbeddings, NDArray textEmbeddings, long offset, long b) {
    return inScope(
        imageEmbeddings,
        textEmbeddings,
        scope -> {
          NDArray clamped = trainingLogitScale(imageEmbeddings.getDevice());
          return ClipLoss.localInfoNce(imageEmbeddings, textEmbeddings, offset, b, clamped);
        });
  }

  /**
   * L2-normalised image embeddings (B, E) for evaluation; {@code maskRatio} 0 encodes every patch,
   * more encodes a random subset (FLIP's masked inference, for studies).
   */
  public NDArray encodeImages(NDArray images, double maskRatio) {
    return inScope(
        images, null, scope -> normalise(encodeImagesRaw(scope, images, maskRatio, false)));
  }

  /** L2-normalised text embeddings (B, E) for token ids (B, contextLength). */
  public NDArray encodeTexts(NDArray tokens) {
    return inScope(tokens, null, scope -> normalise(encodeTextsRaw(tokens, null, false)));
  }

  private NDArray encodeImagesRaw(
      NDManager scope, NDArray images, double maskRatio, boolean training) {
    checkImages(images);
    NDList inputs = new NDList(images);
    if (maskRatio > 0) {
      int batch = (int) images.getShape().get(0);
      inputs.add(PatchMasking.sampleKeepIndices(scope, batch, preset.numPatches(), maskRatio));
    } else {
      PatchMasking.checkRatio(maskRatio);
    }
    return atPrecision(() -> visual.forward(store, inputs, training).singletonOrThrow());
  }

  private NDArray encodeTextsRaw(NDArray tokens, NDArray positions, boolean training) {
    NDList inputs = positions == null ? new NDList(tokens) : new NDList(tokens, positions);
    return atPrecision(() -> text.forward(store, inputs, training).singletonOrThrow());
  }

  /** Per caption, the position the text tower pools at (what text masking must keep). */
  public long[] textPoolPositions(NDArray tokens) {
    try (NDManager scope = NDManager.subManagerOf(tokens)) {
      NDArray index = text.poolIndex(tokens.toType(ai.djl.ndarray.types.DataType.INT64, false));
      index.attach(scope);
      return index.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray();
    }
  }

  /**
   * Refuses token rows whose end-of-text is not where this model pools: with {@code "eos"} every
   * row's last non-pad token must be the preset's {@code eosId}, with {@code "argmax"} the row's
   * highest id. Training checks its first batch, so data from another tokenizer than the preset was
   * made for (e.g. CLIP BPE, end-of-text 49407, against eosId 3) fails at once, not as a model that
   * never learns.
   */
  public void checkEndOfText(NDArray tokens) {
    String pooling = preset.textPooling();
    if (!pooling.equals("eos") && !pooling.equals("argmax")) {
      return;
    }
    int[] ids = tokens.toType(DataType.INT32, false).toIntArray();
    int length = (int) tokens.getShape().get(1);
    for (int row = 0; row * length < ids.length; row++) {
      int last = -1;
      int max = Integer.MIN_VALUE;
      for (int i = row * length; i < (row + 1) * length; i++) {
        if (ids[i] != 0) {
          last = ids[i];
        }
        max = Math.max(max, ids[i]);
      }
      int expected = pooling.equals("eos") ? preset.eosId() : max;
      if (last != expected) {
        throw new IllegalArgumentException(
            "token row "
                + row
                + " ends with id "
                + last
                + " but preset "
                + preset.name()
                + " pools at "
                + (pooling.equals("eos") ? "eosId " + expected : "the highest id " + expected)
                + ": the preset's eosId must be the data tokenizer's end-of-text id");
      }
    }
  }

  private void checkImages(NDArray images) {
    Shape s = images.getShape();
    if (s.dimension() != 4
        || s.get(1) != 3
        || s.get(2) != preset.imageSize()
        || s.get(3) != preset.imageSize()) {
      throw new IllegalArgumentException(
          "images: expected (B, 3, "
              + preset.imageSize()
              + ", "
              + preset.imageSize()
              + ") for preset "
              + preset.name()
              + ", got "
              + s);
    }
  }

  private static NDArray normalise(NDArray x) {
    return x.div(Scalars.maximum(x.norm(new int[] {1}, true), 1e-12));
  }

  private NDArray inScope(NDArray anchor, NDArray other, Function<NDManager, NDArray> body) {
    return inScopeList(anchor, other, scope -> new NDList(body.apply(scope))).singletonOrThrow();
  }

  private NDList inScopeList(NDArray anchor, NDArray other, Function<NDManager, NDList> body) {
    NDManager callerManager = anchor.getManager();
    try (NDManager scope = NDManager.subManagerOf(anchor)) {
      for (Pair<String, Parameter> p : getParameters()) {
        scope.tempAttachAll(p.getValue().getArray());
      }
      // the inputs too, so that ops with an input on the left also land in the scope
      scope.tempAttachAll(anchor);
      if (other != null) {
        scope.tempAttachAll(other);
      }
      NDList result = body.apply(scope);
      result.attach(callerManager);
      return result;
    }
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore,
      NDList inputs,
      boolean training,
      PairList<String, Object> params) {
    NDArray image = visual.forward(parameterStore, new NDList(inputs.get(0)), training).head();
    NDArray txt = text.forward(parameterStore, new NDList(inputs.get(1)), training).head();
    return new NDList(normalise(image), normalise(txt));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    long batch = inputShapes[0].get(0);
    return new Shape[] {new Shape(batch, preset.embedDim()), new Shape(batch, preset.embedDim())};
  }

  @Override
  protected void initializeChildBlocks(
      NDManager initManager, DataType dataType, Shape... inputShapes) {
    visual.initialize(initManager, dataType, inputShapes[0]);
    text.initialize(initManager, dataType, inputShapes[1]);
    if (decoder != null) {
      long batch = inputShapes[0].get(0);
      int kept = Math.max(1, preset.numPatches() / 2); // any split: no weight depends on it
      decoder.initialize(
          initManager,
          dataType,
          new Shape(batch, kept, preset.visionWidth()),
          new Shape(batch, kept),
          new Shape(batch, preset.numPatches() - kept));
    }
  }

  /**
   * Every weight under its stable name, in a fixed order (image tower, text tower, logit scale):
   * OpenCLIP's module paths with DJL's layouts ({@code visual.conv1.weight}, {@code
   * visual.transformer.resblocks.0.attn.in_proj.weight}, {@code visual.proj.weight} (E, D), {@code
   * token_embedding.weight}, {@code text_projection.weight} (E, D), {@code logit_scale} (1), ...).
   * The names of safetensors checkpoints; the OpenCLIP exporter maps them from there.
   */
  public Map<String, Parameter> namedParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    visual.collectParameters("visual.", out);
    text.collectParameters(out);
    NamedParameters.put(out, "logit_scale", logitScale);
    int total = out.size() + decoderNamedParameters().size();
    if (total != getParameters().size()) {
      throw new IllegalStateException(
          "named " + total + " of the model's " + getParameters().size() + " parameters");
    }
    return out;
  }

  /**
   * Table 1f's decoder weights under {@code decoder.} ({@code decoder.embed.weight}, ...); empty
   * without a decoder. Not in {@link #namedParameters()}: checkpoints keep them in a file of their
   * own, so that the model file is the CLIP model every other tool reads.
   */
  public Map<String, Parameter> decoderNamedParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    if (decoder != null) {
      decoder.collectParameters("decoder.", out);
    }
    return out;
  }

  /** The shape of every named weight, in {@link #namedParameters()} order. */
  public Map<String, long[]> weightShapes() {
    return shapes(namedParameters());
  }

  /** The shape of every decoder weight, in {@link #decoderNamedParameters()} order. */
  public Map<String, long[]> decoderWeightShapes() {
    return shapes(decoderNamedParameters());
  }

  private static Map<String, long[]> shapes(Map<String, Parameter> parameters) {
    Map<String, long[]> out = new LinkedHashMap<>();
    parameters.forEach((n, p) -> out.put(n, p.getArray().getShape().getShape()));
    return out;
  }

  /** One named weight's values (a decoder's too), float32, row-major (copied off the device). */
  public float[] weightValues(String name) {
    return named(name).getArray().toType(DataType.FLOAT32, false).toFloatArray();
  }

  /**
   * Overwrites one named weight in place with {@code values} (row-major float32); {@code shape}
   * must be the weight's. The caller names the file the values came from in its messages.
   */
  public void setWeight(String name, long[] shape, float[] values) {
    NDArray w = named(name).getArray();
    long[] own = w.getShape().getShape();
    if (!java.util.Arrays.equals(own, shape)) {
      throw new IllegalArgumentException(
          name
              + " has shape "
              + new Shape(shape)
              + " but preset "
              + preset.name()
              + " has "
              + new Shape(own));
    }
    if (values.length != w.size()) {
      throw new IllegalArgumentException(
          name + ": " + values.length + " values for " + w.size() + " elements");
    }
    w.set(java.nio.FloatBuffer.wrap(values));
    w.setRequiresGradient(true);
  }

  private Parameter named(String name) {
    Parameter p =
        name.startsWith("decoder.")
            ? decoderNamedParameters().get(name)
            : namedParameters().get(name);
    if (p == null) {
      throw new IllegalArgumentException(
          "preset " + preset.name() + " has no weight named " + name);
    }
    return p;
  }

  /** Writes all weights (DJL's parameter format); children are in a stable constructor order. */
  public void save(DataOutputStream out) throws IOException {
    saveParameters(out);
  }

  /** Reads weights written by {@link #save}; the preset must match. */
  public void load(DataInputStream in) throws IOException {
    try {
      loadParameters(manager, in);
    } catch (ai.djl.MalformedModelException e) {
      throw new IllegalArgumentException(
          "checkpoint weights do not fit preset " + preset.name(), e);
    }
    for (Pair<String, Parameter> p : getParameters()) {
      p.getValue().getArray().setRequiresGradient(true);
    }
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
    }
    if (ownedRoot != null) {
      ownedRoot.close();
    }
  }
}
